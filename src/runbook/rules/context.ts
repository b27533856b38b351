/** What a cross-field rule sees and how it reports. Rules are small functions run after the schema. */
import type { Path } from "../diagnostics.js";
import type { Runbook } from "../schema/runbook.js";
import { closest } from "../suggest.js";

export interface RuleContext {
  /** The normalized runbook (defaults applied). Paths still match the written file. */
  runbook: Runbook;
  /** The value as written, before defaults and transforms. */
  raw: unknown;
  error(path: Path, message: string, key?: boolean): void;
  warn(path: Path, message: string, key?: boolean): void;
}

export type RunbookRule = (ctx: RuleContext) => void;

/** "unknown check `x`; did you mean `y`?" / "…; declare it under checks" */
export function unknownName(kind: string, name: string, declared: Iterable<string>, where: string): string {
  const names = [...declared];
  const guess = closest(name, names);
  if (guess) return `unknown ${kind} \`${name}\`; did you mean \`${guess}\`?`;
  return names.length
    ? `unknown ${kind} \`${name}\`; declared ${kind}s: ${names.join(", ")}`
    : `unknown ${kind} \`${name}\`; declare it under ${where}`;
}
