/**
 * A rule's condition judged on one sample: each clause on its signal's measurement (and its
 * baseline, for a relative clause), then the clauses joined. Pure: no clock, no I/O.
 *
 * A clause is true, false, an error (the measurement failed), or missing (no value, a value
 * of the wrong type, no baseline). Joined with `and`: false if any clause is false, else an
 * error or missing data if any is, else true. Joined with `or`: true if any clause is true,
 * else an error or missing if any is, else false. Missing data is never a pass.
 */
import type { Measurement, Value } from "../probes/types.js";
import type { Clause, Condition } from "../runbook/condition.js";
import { compare } from "../runbook/expression.js";
import { formatValue } from "./format.js";

export type Judged =
  | { state: "true"; value: Value; described: string }
  | { state: "false" }
  | { state: "error"; message: string }
  | { state: "missing"; message: string; value?: Value };

export function judge(
  condition: Condition,
  measurements: Record<string, Measurement | undefined>,
  baselines: Record<string, Value | undefined>,
): Judged {
  const results = condition.clauses.map((c) => judgeClause(c, measurements[c.subject], baselines[c.subject]));
  const decisive = condition.join === "and" ? "false" : "true";
  const decided = results.find((r) => r.state === decisive);
  if (decided) return condition.join === "and" ? { state: "false" } : decided;
  const error = results.find((r) => r.state === "error");
  if (error) return error;
  const missing = results.find((r) => r.state === "missing");
  if (missing) return missing;
  if (condition.join === "or") return { state: "false" };
  const trues = results as Array<Extract<Judged, { state: "true" }>>;
  return { state: "true", value: trues[0]!.value, described: trues.map((t) => t.described).join(" and ") };
}

function judgeClause(clause: Clause, m: Measurement | undefined, baseline: Value | undefined): Judged {
  if (!m) return { state: "missing", message: `${clause.subject}: no data (no signal ${clause.subject})` };
  if (m.phase === "error") return { state: "error", message: m.message };
  if (m.phase === "inconclusive" || m.value === undefined || m.value === null)
    return { state: "missing", message: `${clause.subject}: no data${m.message ? ` (${m.message})` : ""}` };
  const value = m.value;
  const verdict = (judged: boolean | undefined, what: string): Judged => {
    if (judged === undefined)
      return {
        state: "missing",
        value,
        message: `${clause.subject}: no data (${formatValue(value)} cannot be compared with \`${what}\`)`,
      };
    return judged
      ? { state: "true", value, described: `${clause.subject} ${formatValue(value)} ${what}` }
      : { state: "false" };
  };
  const rest = clause.text.slice(clause.subject.length).trim();
  if (clause.op === "between") {
    if (typeof value !== "number") return verdict(undefined, rest);
    return verdict(value >= clause.low.value && value <= clause.high.value, rest);
  }
  const base = typeof baseline === "number" ? baseline : undefined;
  if (clause.op === "within") {
    if (base === undefined) return noBaseline(clause, baseline);
    if (typeof value !== "number") return verdict(undefined, rest);
    return verdict(
      Math.abs(value - base) <= clause.ratio * Math.abs(base),
      `${rest} (baseline ${formatValue(base)})`,
    );
  }
  if (clause.operand.kind === "baseline") {
    if (base === undefined) return noBaseline(clause, baseline);
    const threshold = clause.operand.factor * base;
    const operand = { kind: "number" as const, value: threshold, text: formatValue(threshold) };
    return verdict(
      compare(value, { op: clause.op, operand, text: rest }),
      `${rest} (baseline ${formatValue(base)}: ${clause.op} ${formatValue(threshold)})`,
    );
  }
  return verdict(compare(value, { op: clause.op, operand: clause.operand, text: rest }), rest);
}

function noBaseline(clause: Clause, baseline: Value | undefined): Judged {
  const why =
    baseline === undefined ? "none was measured before the deploy" : `it was ${formatValue(baseline)}`;
  return { state: "missing", message: `${clause.subject}: no baseline to compare with (${why})` };
}
