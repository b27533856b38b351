/**
 * Turns zod's issues into diagnostics a person can act on: the position, the field path,
 * what is wrong, and what to write instead.
 */
import type * as z from "zod";
import { type Diagnostic, formatPath, type Path } from "./diagnostics.js";
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

export function issuesToDiagnostics(issues: readonly Issue[], ctx: IssueContext): Diagnostic[] {
  return issues.flatMap((issue) => convert(issue, ctx));
}

function convert(issue: Issue, ctx: IssueContext): Diagnostic[] {
  const path = issue.path as Array<string | number>;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => at(ctx, [...path, key], true, unknownKey(ctx, path, key)));
    case "invalid_union":
      return invalidUnion(issue, ctx);
    case "invalid_type":
      if (issue.input === undefined) return [missingKey(ctx, path)];
      if (!issue.message.startsWith("Invalid input")) return [at(ctx, path, false, issue.message)];
      return [at(ctx, path, false, `expected ${article(issue.expected)}, got ${describe(issue.input)}`)];
    case "invalid_value":
      return [at(ctx, path, false, invalidValue(issue.values, issue.input))];
    case "invalid_key":
      return convert(
        { ...issue.issues[0]!, path: [...path, ...(issue.issues[0]?.path ?? [])] } as Issue,
        ctx,
      );
    case "invalid_element":
      return issue.issues.flatMap((i) => convert({ ...i, path: [...path, ...i.path] } as Issue, ctx));
    case "too_small":
      return [at(ctx, path, false, tooSmall(issue))];
    default:
      return [at(ctx, path, false, issue.message)];
  }
}

function at(ctx: IssueContext, path: Path, key: boolean, message: string): Diagnostic {
  const { line, col } = ctx.yaml.locate(path, key);
  return { severity: "error", file: ctx.file, line, col, path: formatPath(path), message };
}

function unknownKey(ctx: IssueContext, path: Path, key: string): string {
  const here = schemaAt(ctx.root, ctx.yaml.value, path);
  const keys = here ? knownKeys(here.schema, here.value).filter((k) => k !== "$schema") : [];
  const guess = closest(key, keys);
  if (guess) return `unknown key \`${key}\`; did you mean \`${guess}\`?`;
  return keys.length ? `unknown key \`${key}\`; allowed here: ${keys.join(", ")}` : `unknown key \`${key}\``;
}

function missingKey(ctx: IssueContext, path: Path): Diagnostic {
  const parent = path.slice(0, -1);
  const key = path[path.length - 1];
  const here = schemaAt(ctx.root, ctx.yaml.value, path);
  const description = here ? metaOf(here.schema).description : undefined;
  const what = typeof description === "string" ? ` (${description.replace(/\.$/, "")})` : "";
  const message = typeof key === "string" ? `missing required key \`${key}\`${what}` : "missing value";
  const d = at(ctx, parent, false, message);
  return { ...d, path: formatPath(path) };
}

function invalidUnion(issue: Extract<Issue, { code: "invalid_union" }>, ctx: IssueContext): Diagnostic[] {
  const path = issue.path as Array<string | number>;
  const discriminator = (issue as { discriminator?: string }).discriminator;
  if (discriminator) {
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    const parentPath = path.slice(0, -1);
    const parent = schemaAt(ctx.root, ctx.yaml.value, parentPath)?.value;
    const written =
      parent && typeof parent === "object" ? (parent as Record<string, unknown>)[discriminator] : undefined;
    if (written === undefined) {
      return [missingWithChoices(ctx, path, discriminator, options)];
    }
    return [at(ctx, path, false, invalidValue(options, written))];
  }
  const branches = issue.errors;
  const value = schemaAt(ctx.root, ctx.yaml.value, path)?.value;
  const chosen = pickBranch(branches, value);
  if (!chosen) return [at(ctx, path, false, issue.message)];
  return issuesToDiagnostics(
    chosen.map((i) => ({ ...i, path: [...path, ...i.path] }) as Issue),
    ctx,
  );
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

function missingWithChoices(ctx: IssueContext, path: Path, key: string, options: string[]): Diagnostic {
  const d = at(
    ctx,
    path.slice(0, -1),
    false,
    `missing required key \`${key}\`: one of ${options.join(", ")}`,
  );
  return { ...d, path: formatPath(path) };
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
