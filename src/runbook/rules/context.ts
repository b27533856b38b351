/** What a cross-field rule sees and how it reports. Rules are small functions run after the schema. */
import type { Path } from "../diagnostics.js";
import type { Runbook } from "../schema/runbook.js";
import { closest } from "../suggest.js";

export interface RuleContext {
  /** The normalized runbook (defaults applied). Paths still match the written file. */
  runbook: Runbook;
  /** The value as written, before defaults and transforms. */
  raw: unknown;
  /** Reports a problem; pass a function when the message costs something (a suggestion): it runs only if the problem is listed. */
  error(path: Path, message: string | (() => string), key?: boolean): void;
  warn(path: Path, message: string | (() => string), key?: boolean): void;
  /** True once enough problems are collected (diagnostics.ts MAX_COLLECTED): skip costly checks, and say so with `stopped`. */
  readonly full: boolean;
  /** A rule skipped checks because the collection is full; the counts become a lower bound. */
  stopped(): void;
}

export type RunbookRule = (ctx: RuleContext) => void;

/** "unknown check `x`; did you mean `y`?" / "…; declare it under checks" */
export function unknownName(kind: string, name: string, declared: Iterable<string>, where: string): string {
  const names = [...declared];
  // Suggestions compare with every name; a runbook declares tens, a hostile file tens of thousands.
  const guess = closest(name, names.length <= MAX_CANDIDATES ? names : names.slice(0, MAX_CANDIDATES));
  if (guess) return `unknown ${kind} \`${name}\`; did you mean \`${guess}\`?`;
  const listed =
    names.length <= MAX_LISTED
      ? names.join(", ")
      : `${names.slice(0, MAX_LISTED).join(", ")} and ${names.length - MAX_LISTED} more`;
  return names.length
    ? `unknown ${kind} \`${name}\`; declared ${kind}s: ${listed}`
    : `unknown ${kind} \`${name}\`; declare it under ${where}`;
}

/** Names compared for a suggestion, and names listed in a message. */
const MAX_CANDIDATES = 1_000;
const MAX_LISTED = 20;
