/**
 * Comparisons: a check's `expect:` (`< 80%`, `== 0`, `>= 90`), and each clause of a rule's
 * condition (condition.ts).
 * Numbers may carry `%` (5% is 0.05) or a duration unit (200ms is 200, compared in ms).
 */
import { parseDuration } from "./duration.js";

export const OPERATORS = ["<", "<=", ">", ">=", "==", "!="] as const;
export type Operator = (typeof OPERATORS)[number];

export type NumberOperand = { kind: "number"; value: number; text: string };
export type Operand = NumberOperand | { kind: "string"; value: string };

export interface Comparison {
  op: Operator;
  operand: Operand;
  /** The text as written, for explanations: "error_rate > 0.05". */
  text: string;
}

const OP = "(<=|>=|==|!=|<|>)";
const COMPARISON = new RegExp(`^\\s*${OP}\\s*(.+?)\\s*$`);

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Parses an expectation: `op value`, or a bare value meaning `== value`.
 * Example: `parseComparison("< 80%")` → `{ op: "<", operand: 0.8 }`.
 */
export function parseComparison(input: string | number | boolean): Parsed<Comparison> {
  if (typeof input !== "string") {
    const operand: Operand =
      typeof input === "number"
        ? { kind: "number", value: input, text: String(input) }
        : { kind: "string", value: String(input) };
    return { ok: true, value: { op: "==", operand, text: `== ${input}` } };
  }
  const m = COMPARISON.exec(input);
  const [op, rest] = m ? [m[1] as Operator, m[2]!] : (["==", input.trim()] as const);
  const operand = parseOperand(rest);
  if (!operand.ok) return operand;
  const check = checkOperator(op, operand.value, input);
  if (check) return { ok: false, message: check };
  return { ok: true, value: { op, operand: operand.value, text: m ? input.trim() : `== ${input.trim()}` } };
}

function parseOperand(text: string): Parsed<Operand> {
  const quoted = /^"(.*)"$|^'(.*)'$/.exec(text);
  if (quoted) return { ok: true, value: { kind: "string", value: quoted[1] ?? quoted[2] ?? "" } };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { ok: true, value: { kind: "number", value: Number(text), text } };
  if (/^-?\d+(\.\d+)?%$/.test(text)) {
    return { ok: true, value: { kind: "number", value: Number(text.slice(0, -1)) / 100, text } };
  }
  const ms = parseDuration(text);
  if (ms !== undefined) return { ok: true, value: { kind: "number", value: ms, text } };
  if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(text)) return { ok: true, value: { kind: "string", value: text } };
  return {
    ok: false,
    message: `cannot read value \`${text}\`: write a number (0.05), a percentage (5%), a duration (200ms) or a word (not_ready)`,
  };
}

function checkOperator(op: Operator, operand: Operand, text: string): string | undefined {
  if (operand.kind === "string" && op !== "==" && op !== "!=") {
    return `\`${text}\` compares a word with \`${op}\`; words can only be compared with == or !=`;
  }
  return undefined;
}

/** Evaluates a comparison against a measured value. Missing or mistyped data is `undefined`, never `false`. */
export function compare(value: unknown, comparison: Comparison): boolean | undefined {
  const { op, operand } = comparison;
  if (operand.kind === "string") {
    if (typeof value !== "string" && typeof value !== "boolean") return undefined;
    const equal = String(value) === operand.value;
    return op === "==" ? equal : !equal;
  }
  if (typeof value !== "number" || Number.isNaN(value)) return undefined;
  const b = operand.value;
  switch (op) {
    case "<":
      return value < b;
    case "<=":
      return value <= b;
    case ">":
      return value > b;
    case ">=":
      return value >= b;
    case "==":
      return value === b;
    case "!=":
      return value !== b;
  }
}
