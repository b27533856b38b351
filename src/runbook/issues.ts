/**
 * Turns zod's issues into diagnostics a person can act on: the position, the field path,
 * what is wrong, and what to write instead.
 */
import type * as z from "zod";
import { type Diagnostic, DiagnosticSink, formatPath, type Path } from "./diagnostics.js";
import { knownKeys, metaOf, schemaAt } from "./schema-walk.js";
import { looksLikeSecret } from "./secret.js";
import { closest } from "./suggest.js";
import type { ParsedYaml } from "./yaml.js";

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

export interface IssueContext {
  file: string;
  root: Schema;
  yaml: ParsedYaml;
}

/** Every issue as diagnostics, sorted. Unbounded: for a handful of issues (tests, tools). */
export function issuesToDiagnostics(issues: readonly Issue[], ctx: IssueContext): Diagnostic[] {
  const sink = new DiagnosticSink(ctx.file, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  collectIssues(issues, ctx, sink);
  return sink.result().diagnostics;
}

/**
 * Adds each issue's diagnostics to `sink`. Each is located while the sink has room; its
 * message (suggestions cost the most) is written only if it is listed.
 */
export function collectIssues(issues: readonly Issue[], ctx: IssueContext, sink: DiagnosticSink): void {
  const emit: Emit = (where, key, message, shown = where) =>
    sink.add("error", () => ({ ...ctx.yaml.locate(where, key), path: formatPath(shown), message }));
  for (const issue of issues) convert(issue, ctx, emit);
}

/** One diagnostic: located at `where` (its key when `key`), reported for the field `shown`. */
type Emit = (where: Path, key: boolean, message: () => string, shown?: Path) => void;

function convert(issue: Issue, ctx: IssueContext, emit: Emit): void {
  const path = issue.path as Array<string | number>;
  switch (issue.code) {
    case "unrecognized_keys":
      for (const key of issue.keys) emit([...path, key], true, () => unknownKey(ctx, path, key));
      break;
    case "invalid_union":
      invalidUnion(issue, ctx, emit);
      break;
    case "invalid_type": {
      const text = issue.message;
      if (issue.input === undefined) missingKey(ctx, path, emit);
      else if (!text.startsWith("Invalid input")) emit(path, false, () => text);
      else emit(path, false, () => `expected ${article(issue.expected)}, got ${describe(issue.input)}`);
      break;
    }
    case "invalid_value":
      emit(path, false, () => invalidValue(issue.values, issue.input));
      break;
    case "invalid_key":
      convert({ ...issue.issues[0]!, path: [...path, ...(issue.issues[0]?.path ?? [])] } as Issue, ctx, emit);
      break;
    case "invalid_element":
      for (const i of issue.issues) convert({ ...i, path: [...path, ...i.path] } as Issue, ctx, emit);
      break;
    case "too_small":
      emit(path, false, () => tooSmall(issue));
      break;
    default: {
      const text = issue.message;
      emit(path, false, () => text);
    }
  }
}

function unknownKey(ctx: IssueContext, path: Path, key: string): string {
  const here = schemaAt(ctx.root, ctx.yaml.value, path);
  const keys = here ? knownKeys(here.schema, here.value).filter((k) => k !== "$schema") : [];
  const guess = closest(key, keys);
  if (guess) return `unknown key \`${key}\`; did you mean \`${guess}\`?`;
  return keys.length ? `unknown key \`${key}\`; allowed here: ${keys.join(", ")}` : `unknown key \`${key}\``;
}

function missingKey(ctx: IssueContext, path: Path, emit: Emit): void {
  const parent = path.slice(0, -1);
  const key = path[path.length - 1];
  emit(
    parent,
    false,
    () => {
      const here = schemaAt(ctx.root, ctx.yaml.value, path);
      const description = here ? metaOf(here.schema).description : undefined;
      const what = typeof description === "string" ? ` (${description.replace(/\.$/, "")})` : "";
      return typeof key === "string" ? `missing required key \`${key}\`${what}` : "missing value";
    },
    path,
  );
}

function invalidUnion(issue: Extract<Issue, { code: "invalid_union" }>, ctx: IssueContext, emit: Emit): void {
  const path = issue.path as Array<string | number>;
  const discriminator = (issue as { discriminator?: string }).discriminator;
  if (discriminator) {
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    const parentPath = path.slice(0, -1);
    const parent = schemaAt(ctx.root, ctx.yaml.value, parentPath)?.value;
    const written =
      parent && typeof parent === "object" ? (parent as Record<string, unknown>)[discriminator] : undefined;
    if (written === undefined) {
      emit(
        parentPath,
        false,
        () => `missing required key \`${discriminator}\`: one of ${options.join(", ")}`,
        path,
      );
    } else emit(path, false, () => invalidValue(options, written));
    return;
  }
  const branches = issue.errors;
  const value = schemaAt(ctx.root, ctx.yaml.value, path)?.value;
  const chosen = pickBranch(branches, value);
  if (!chosen) {
    const text = issue.message;
    emit(path, false, () => text);
    return;
  }
  for (const i of chosen) convert({ ...i, path: [...path, ...i.path] } as Issue, ctx, emit);
}

/**
 * Picks the alternative the author meant. A branch that failed on a missing discriminator
 * (`type:`) was not meant unless the value has that key; among the rest, the fewest issues win.
 */
function pickBranch(branches: Issue[][], value: unknown): Issue[] | undefined {
  const keys = value && typeof value === "object" ? new Set(Object.keys(value)) : new Set<string>();
  const candidates = branches.filter((issues) => {
    const miss = issues.find(
      (i) => i.code === "invalid_union" && (i as { discriminator?: string }).discriminator,
    );
    if (!miss) return true;
    return keys.has((miss as { discriminator?: string }).discriminator!);
  });
  const pool = candidates.length > 0 ? candidates : branches;
  return [...pool].sort((a, b) => a.length - b.length)[0];
}

function invalidValue(values: readonly unknown[], input: unknown): string {
  const allowed = values.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  if (allowed.length === 1) return `must be \`${allowed[0]}\`, got ${describe(input)}`;
  const guess = typeof input === "string" ? closest(input, allowed) : undefined;
  const hint = guess ? `; did you mean \`${guess}\`?` : "";
  return `${describe(input)} is not one of ${allowed.join(", ")}${hint}`;
}

function tooSmall(issue: Extract<Issue, { code: "too_small" }>): string {
  if (issue.origin === "array")
    return `needs at least ${issue.minimum} item${Number(issue.minimum) === 1 ? "" : "s"}`;
  if (issue.origin === "string") return "must not be empty";
  return `must be at least ${issue.minimum}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string" && looksLikeSecret(value))
    return "a value that looks like a secret (not shown)";
  if (typeof value === "string") return `\`${value.length > 40 ? `${value.slice(0, 40)}…` : value}\``;
  return `${typeof value} ${String(value)}`;
}

function article(expected: string): string {
  const words: Record<string, string> = {
    object: "a mapping",
    array: "a list",
    string: "a string",
    number: "a number",
    boolean: "true or false",
    int: "a whole number",
  };
  return words[expected] ?? expected;
}
