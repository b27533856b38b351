/**
 * A rule's condition (`when:`): one or more clauses on signals, joined by `and` or by `or`.
 *
 *   error_rate > 5%                            a threshold
 *   readiness == not_ready                     a word
 *   error_rate between 2% and 5%               a band, both ends included
 *   p95 > 3x baseline                          relative to the signal's baseline
 *   p95 within 10% of baseline                 |p95 − baseline| ≤ 10% of baseline
 *   error_rate > 2% and p95 > 500ms            every clause true
 *   readiness == not_ready or live == down     any clause true
 *
 * `baseline` is the signal's value measured before the deploy (the plan adds that step).
 * A condition joins its clauses with one word: mixing `and` and `or` has no reading a person
 * can be sure of, so it is refused with the advice to write two rules.
 */
import { type NumberOperand, type Operand, type Operator, parseComparison } from "./expression.js";

/** `3x baseline` (factor 3), `baseline` (factor 1). */
export interface BaselineOperand {
  kind: "baseline";
  factor: number;
  text: string;
}

export type Clause =
  | { subject: string; op: Operator; operand: Operand | BaselineOperand; text: string }
  | { subject: string; op: "between"; low: NumberOperand; high: NumberOperand; text: string }
  | { subject: string; op: "within"; ratio: number; text: string };

export interface Condition {
  /** The condition as written: "error_rate > 0.05". */
  text: string;
  join: "and" | "or";
  clauses: Clause[];
  /** The first clause's signal, operator and operand: what views draw as the rule's threshold. */
  subject: string;
  op: Clause["op"];
  operand: Operand | BaselineOperand;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const SUBJECT = /^\s*([a-z][a-z0-9_]*)\s+(.*)$/s;
const FORMS =
  "`<signal> <op> <value>` (op one of < <= > >= == !=), `<signal> between <low> and <high>`, `<signal> > 3x baseline` or `<signal> within 10% of baseline`, e.g. `error_rate > 0.05`";

/** Parses a rule condition. Example: `parseCondition("error_rate between 2% and 5%")`. */
export function parseCondition(text: string): Parsed<Condition> {
  const parts = splitClauses(text.trim());
  if (!parts.ok) return parts;
  const clauses: Clause[] = [];
  for (const part of parts.value.texts) {
    const clause = parseClause(part, text);
    if (!clause.ok) return clause;
    clauses.push(clause.value);
  }
  const first = clauses[0]!;
  return {
    ok: true,
    value: {
      text: text.trim(),
      join: parts.value.join,
      clauses,
      subject: first.subject,
      op: first.op,
      operand: first.op === "between" ? first.low : first.op === "within" ? baselineOf(1) : first.operand,
    },
  };
}

/** The signals a condition reads, each once, in the order written. */
export function subjectsOf(condition: Condition): string[] {
  return [...new Set(condition.clauses.map((c) => c.subject))];
}

/** Whether a condition compares with a baseline: the plan measures one before the deploy. */
export function usesBaseline(clause: Clause): boolean {
  return clause.op === "within" || (clause.op !== "between" && clause.operand.kind === "baseline");
}

/** Splits on ` and ` / ` or `, keeping `between A and B` whole. */
function splitClauses(text: string): Parsed<{ texts: string[]; join: "and" | "or" }> {
  const tokens = text.split(/\s+(and|or)\s+/i);
  const texts: string[] = [tokens[0]!];
  const joins = new Set<string>();
  for (let i = 1; i < tokens.length; i += 2) {
    const word = tokens[i]!.toLowerCase();
    const next = tokens[i + 1]!;
    const last = texts.at(-1)!;
    if (word === "and" && /\sbetween\s+\S+$/i.test(last)) texts[texts.length - 1] = `${last} and ${next}`;
    else {
      joins.add(word);
      texts.push(next);
    }
  }
  if (joins.size > 1)
    return {
      ok: false,
      message: `cannot read condition \`${text}\`: it mixes \`and\` with \`or\`; join its clauses with one of them, or write two rules`,
    };
  return { ok: true, value: { texts, join: joins.has("or") ? "or" : "and" } };
}

function parseClause(text: string, whole: string): Parsed<Clause> {
  const m = SUBJECT.exec(text);
  const unreadable = (why?: string): Parsed<Clause> => ({
    ok: false,
    message: `cannot read condition \`${whole}\`${why ? `: ${why}` : ""}; write ${FORMS}`,
  });
  if (!m) return unreadable();
  const subject = m[1]!;
  const rest = m[2]!.trim();
  const between = /^between\s+(\S+)\s+and\s+(\S+)$/i.exec(rest);
  if (between) {
    const low = number(between[1]!);
    const high = number(between[2]!);
    if (!low || !high) return unreadable(`the ends of a band are numbers, percentages or durations`);
    if (low.value > high.value)
      return unreadable(`the band's low end ${low.text} is above its high end ${high.text}`);
    return { ok: true, value: { subject, op: "between", low, high, text: text.trim() } };
  }
  const within = /^within\s+(\d+(?:\.\d+)?)%\s+of\s+baseline$/i.exec(rest);
  if (within)
    return { ok: true, value: { subject, op: "within", ratio: Number(within[1]) / 100, text: text.trim() } };
  const relative = /^(<=|>=|<|>)\s*(?:(\d+(?:\.\d+)?)x\s+)?baseline$/i.exec(rest);
  if (relative) {
    const factor = relative[2] === undefined ? 1 : Number(relative[2]);
    return {
      ok: true,
      value: { subject, op: relative[1] as Operator, operand: baselineOf(factor), text: text.trim() },
    };
  }
  if (/baseline/i.test(rest))
    return unreadable("compare with a baseline as `> 3x baseline` or `within 10% of baseline`");
  if (!/^(<=|>=|==|!=|<|>)/.test(rest)) return unreadable();
  const comparison = parseComparison(rest);
  if (!comparison.ok) return comparison;
  return {
    ok: true,
    value: { subject, op: comparison.value.op, operand: comparison.value.operand, text: text.trim() },
  };
}

function number(text: string): NumberOperand | undefined {
  const c = parseComparison(text);
  return c.ok && c.value.operand.kind === "number" ? c.value.operand : undefined;
}

function baselineOf(factor: number): BaselineOperand {
  return { kind: "baseline", factor, text: factor === 1 ? "baseline" : `${factor}x baseline` };
}
