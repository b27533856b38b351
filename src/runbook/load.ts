/**
 * Loading a runbook: read → YAML with positions → schema → cross-field rules.
 * Never throws for anything a user can write; every problem becomes a diagnostic. When the
 * schema refuses parts of the file, the rules still run on the parts it accepted (salvage.ts),
 * so one run reports every error.
 *
 * Bounded for any file under the size limit: a file with a million mistakes costs what its
 * first `MAX_COLLECTED` cost (diagnostics.ts). Every problem found is counted; the first `MAX_SHOWN` in file
 * order are listed; a huge value is checked against the schema in parts, in file order, and
 * checking stops once the sink is full (then the counts are a lower bound: `complete: false`).
 */
import * as z from "zod";
import {
  type Diagnostic,
  DiagnosticSink,
  formatPath,
  MAX_COLLECTED,
  NONE_OMITTED,
  type Omitted,
  type Path,
} from "./diagnostics.js";
import { collectIssues, type IssueContext } from "./issues.js";
import { runGuarded } from "./rules/guarded.js";
import { RULES, type RuleContext } from "./rules/index.js";
import { marksOf, salvage } from "./salvage.js";
import { Runbook } from "./schema/runbook.js";
import { alternatives, unwrap } from "./schema-walk.js";
import { readSource } from "./source.js";
import { onTimeline } from "./time-scale.js";
import { type ParsedYaml, parseYaml } from "./yaml.js";

export interface LoadResult {
  file: string;
  /** Present when there are no errors (warnings may remain). */
  runbook?: Runbook;
  /** The first `MAX_SHOWN` problems in file order. */
  diagnostics: Diagnostic[];
  /** Problems found but not listed ("and N more"). */
  omitted: Omitted;
  /** False when validation stopped looking after `MAX_COLLECTED` problems: the counts are a lower bound. */
  complete: boolean;
}

export function hasErrors(result: LoadResult): boolean {
  return result.omitted.errors > 0 || result.diagnostics.some((d) => d.severity === "error");
}

/** All errors and warnings found, listed or not. */
export function problemCounts(result: LoadResult): { errors: number; warnings: number } {
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  return {
    errors: errors + result.omitted.errors,
    warnings: result.diagnostics.length - errors + result.omitted.warnings,
  };
}

/** Example: `const { runbook, diagnostics } = loadRunbook("runbook.yaml")`. */
export function loadRunbook(file: string): LoadResult {
  const source = readSource(file);
  if (!source.ok) return fileProblem(file, { severity: "error", file, path: "", message: source.message });
  return loadRunbookText(source.text, file);
}

function fileProblem(file: string, d: Diagnostic): LoadResult {
  return { file, diagnostics: [d], omitted: NONE_OMITTED, complete: true };
}

export function loadRunbookText(text: string, file: string): LoadResult {
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    const diagnostics = parsed.problems.map(
      (p): Diagnostic => ({
        severity: "error",
        file,
        line: p.line,
        col: p.col,
        path: p.path ?? "",
        message: p.message,
      }),
    );
    return { file, diagnostics, omitted: { errors: parsed.omitted, warnings: 0 }, complete: true };
  }
  const { yaml } = parsed;
  if (yaml.value === null || typeof yaml.value !== "object" || Array.isArray(yaml.value)) {
    const what = yaml.value === null ? "empty" : Array.isArray(yaml.value) ? "a list" : "a single value";
    return fileProblem(file, {
      severity: "error",
      file,
      line: 1,
      col: 1,
      path: "",
      message: `the file is ${what}, not a runbook; a runbook is a YAML mapping starting with \`apiVersion: gantry/v1\` (gantry init writes one)`,
    });
  }
  const sink = new DiagnosticSink(file);
  const issues: Issue[] = [];
  const runbook = checkSchema(yaml, sink, { file, root: Runbook, yaml }, issues);
  const report =
    (severity: Diagnostic["severity"]) =>
    (path: Path, message: string | (() => string), key = false) =>
      sink.add(severity, () => ({ ...yaml.locate(path, key), path: formatPath(path), message }));
  const ctx = (value: Runbook): RuleContext => ({
    runbook: value,
    raw: yaml.value,
    error: report("error"),
    warn: report("warning"),
    get full() {
      return sink.full;
    },
    stopped: () => sink.stopped(),
  });
  if (runbook) {
    for (const rule of RULES) rule(ctx(runbook));
  } else if (!sink.full && issues.length <= MAX_COLLECTED) {
    // The rules run on the parts the schema accepted, so one run reports every error.
    const marks = marksOf(issues);
    runGuarded(RULES, ctx(salvage(Runbook, yaml.value, marks) as Runbook), marks);
  }
  const { diagnostics, omitted, complete } = sink.result();
  const result: LoadResult = { file, diagnostics, omitted, complete };
  return runbook && sink.errors === 0 ? { ...result, runbook } : result;
}

/**
 * A runbook that was validated before (when its run was created) read again from its text:
 * the schema's normalisation only, none of the cross-field rules or the migrations lint. The
 * engine reads its run's environment, secrets and values this way on every replay, on the
 * environment's timeline (`timeScale`) when `env` is given.
 */
export function parseRunbookText(text: string, env?: string): Runbook | undefined {
  const parsed = parseYaml(text);
  if (!parsed.ok) return undefined;
  const result = Runbook.safeParse(parsed.yaml.value, PARSE);
  if (!result.success) return undefined;
  return env === undefined ? result.data : onTimeline(result.data, env);
}

/**
 * How the schema parses a runbook. A load parses it once: zod's compiled fast path (one
 * generated function per object schema) costs more to build than one parse saves.
 */
const PARSE = { reportInput: true, jitless: true } as const;

/** A value with more nodes than this is checked against the schema in parts. */
const PART_NODES = 5_000;

/**
 * The runbook when the schema accepts the value; else its issues go to `sink`, and the first
 * `MAX_COLLECTED` (paths from the root) to `found`.
 */
function checkSchema(
  yaml: ParsedYaml,
  sink: DiagnosticSink,
  ctx: IssueContext,
  found: Issue[],
): Runbook | undefined {
  if (countNodes(yaml.value, PART_NODES) > PART_NODES) {
    const checked = checkInParts(Runbook, yaml.value, (p) => p, sink, ctx, found);
    if (!checked.ok) return undefined;
    if (checked.data !== undefined) return checked.data as Runbook;
  }
  // Small, or accepted in parts that cannot be put back together: one pass for the normalized value.
  const result = Runbook.safeParse(yaml.value, PARSE);
  if (result.success) return result.data;
  collectIssues(result.error.issues, ctx, sink);
  keep(found, result.error.issues);
  return undefined;
}

function keep(found: Issue[], issues: readonly Issue[]): void {
  for (let i = 0; i < issues.length && found.length <= MAX_COLLECTED; i++) found.push(issues[i]!);
}

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;
type Def = { type: string; [key: string]: unknown };
const def = (schema: Schema): Def => schema._zod.def as unknown as Def;

/** The rest of a list or record cut out of a value, to be checked on its own. */
interface Part {
  path: Array<string | number>;
  /** `z.array(element)` or `z.record(key, value)` for the entries. */
  schema: Schema;
  /** The list and the index it was cut at, or the record's remaining entries. */
  list?: { items: unknown[]; from: number };
  entries?: Array<[string, unknown]>;
  /** No transform on the way from the root: the parts' values can be appended to the parsed one. */
  plain: boolean;
}

/**
 * Checks `value` against `schema` in file order: first the value with its lists and records
 * cut short (about `PART_NODES` nodes), then the cut entries, a part at a time, until the
 * sink is full. Lists and records are checked entry by entry by zod too, and nothing in the
 * schema bounds their length from above, so the issues are the same. When all is accepted,
 * `data` is the parsed value put back together (absent when a transform stands in the way).
 */
function checkInParts(
  schema: Schema,
  value: unknown,
  at: (path: Path) => Path,
  sink: DiagnosticSink,
  ctx: IssueContext,
  found: Issue[],
): { ok: boolean; data?: unknown } {
  const parts: Part[] = [];
  const pruned = prune(schema, value, [], parts, { nodes: 0 }, !transforms(schema));
  const result = (schema as z.ZodType).safeParse(pruned, PARSE);
  let ok = result.success;
  let whole = ok;
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ ...i, path: at(i.path as Path) as PropertyKey[] }));
    collectIssues(issues, ctx, sink);
    keep(found, issues);
  }
  for (const part of parts) {
    const length = part.list ? part.list.items.length : part.entries!.length;
    let start = part.list ? part.list.from : 0;
    while (start < length) {
      if (sink.full) {
        sink.stopped();
        return { ok: false };
      }
      let nodes = 0;
      let end = start;
      while (end < length && (end === start || nodes < PART_NODES)) {
        nodes += countNodes(part.list ? part.list.items[end] : part.entries![end]![1], PART_NODES);
        end++;
      }
      const prefix = [...at(part.path)];
      const from = start;
      const chunk = part.list
        ? part.list.items.slice(start, end)
        : Object.fromEntries(part.entries!.slice(start, end));
      const checked = checkInParts(
        part.schema,
        chunk,
        (p) =>
          part.list && typeof p[0] === "number" ? [...prefix, from + p[0], ...p.slice(1)] : [...prefix, ...p],
        sink,
        ctx,
        found,
      );
      if (!checked.ok) ok = false;
      if (ok && whole && part.plain && checked.data !== undefined) {
        const into = dig(result.data, part.path);
        if (Array.isArray(into) && Array.isArray(checked.data)) for (const v of checked.data) into.push(v);
        else if (into && typeof into === "object") {
          for (const [k, v] of Object.entries(checked.data as object)) define(into, k, v);
        } else whole = false;
      } else whole = false;
      start = end;
    }
  }
  return ok ? { ok, ...(whole ? { data: result.data } : {}) } : { ok };
}

function dig(value: unknown, path: Path): unknown {
  let here = value;
  for (const part of path)
    here = here && typeof here === "object" ? (here as Record<string, unknown>)[part] : undefined;
  return here;
}

/** Whether parsing with `schema` may change the shape (a transform, possibly in one branch of a union). */
function transforms(schema: Schema, depth = 0): boolean {
  const d = def(schema);
  if (d.type === "pipe" || d.type === "transform" || d.type === "lazy" || depth > 8) return true;
  if ("innerType" in d) return transforms(d.innerType as Schema, depth + 1);
  if (d.type === "union") return (d.options as Schema[]).some((o) => transforms(o, depth + 1));
  return false;
}

/** A copy of `value` with its lists and records cut once `budget` nodes are in; the cut-off entries go to `parts`. */
function prune(
  schema: Schema,
  value: unknown,
  path: Array<string | number>,
  parts: Part[],
  budget: { nodes: number },
  plain: boolean,
): unknown {
  budget.nodes++;
  if (value === null || typeof value !== "object") return value;
  const alts = alternatives(schema, value);
  if (Array.isArray(value)) {
    const container = alts.find((a) => def(a).type === "array");
    if (!container) return value; // zod refuses a list here without looking inside
    const element = def(container).element as Schema;
    const inner = plain && !transforms(element);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      if (i > 0 && budget.nodes >= PART_NODES) {
        parts.push({ path, schema: z.array(element as z.ZodType), list: { items: value, from: i }, plain });
        out ??= value.slice(0, i);
        out.length = i;
        break;
      }
      const copy = prune(element, value[i], [...path, i], parts, budget, inner);
      if (copy !== value[i] && !out) out = value.slice(0, i);
      out?.push(copy);
    }
    return out ?? value;
  }
  // A record keyed by an enum must have every key: it is checked whole, like an object.
  const container = alts.find((a) => def(a).type === "record" && !exhaustive(def(a).keyType as Schema));
  if (!container) {
    // An object: only the keys the schema knows are looked into (zod reports the others by name).
    const fields = fieldsOf(alts);
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const field = fields.get(key);
      if (!field) continue;
      const item = (value as Record<string, unknown>)[key];
      const copy = prune(field, item, [...path, key], parts, budget, plain && !transforms(field));
      if (copy === item) continue;
      out ??= { ...value };
      define(out, key, copy);
    }
    return out ?? value;
  }
  const entries = Object.entries(value);
  const valueType = def(container).valueType as Schema;
  const inner = plain && !transforms(valueType);
  let out: Record<string, unknown> | undefined;
  const copyUpTo = (i: number): Record<string, unknown> => {
    const copy = {};
    for (let k = 0; k < i; k++) define(copy, entries[k]![0], entries[k]![1]);
    return copy;
  };
  for (let i = 0; i < entries.length; i++) {
    const [key, item] = entries[i]!;
    if (i > 0 && budget.nodes >= PART_NODES) {
      parts.push({
        path,
        schema: z.record(def(container).keyType as z.ZodString, valueType as z.ZodType),
        entries: entries.slice(i),
        plain,
      });
      out ??= copyUpTo(i);
      break;
    }
    const copy = prune(valueType, item, [...path, key], parts, budget, inner);
    if (copy !== item && !out) out = copyUpTo(i);
    if (out) define(out, key, copy);
  }
  return out ?? value;
}

/** Whether a record with these keys needs all of them (zod: an enum or literal key type). */
function exhaustive(keyType: Schema): boolean {
  const type = def(unwrap(keyType)).type;
  return type === "enum" || type === "literal" || type === "union";
}

const fieldsCache = new WeakMap<object, Map<string, Schema>>();

/**
 * The fields the alternatives declare, the first declaration of a key first. Cached by the one
 * schema, or by the array `alternatives` caches for a union.
 */
function fieldsOf(alts: Schema[]): Map<string, Schema> {
  const key = alts.length === 1 ? alts[0]! : alts;
  let fields = fieldsCache.get(key);
  if (!fields) {
    fields = new Map();
    for (const a of alts) {
      if (def(a).type !== "object") continue;
      for (const [k, v] of Object.entries(def(a).shape as Record<string, Schema>)) {
        if (!fields.has(k)) fields.set(k, v);
      }
    }
    fieldsCache.set(key, fields);
  }
  return fields;
}

/** `object[key] = value`, also for a key named `__proto__` (as js-yaml does). */
function define(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The number of nodes in `value`, counting up to a little past `limit`. */
function countNodes(value: unknown, limit: number): number {
  if (value === null || typeof value !== "object") return 1;
  let count = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0 && count <= limit) {
    const node = stack.pop();
    count++;
    if (node === null || typeof node !== "object" || seen.has(node)) continue;
    seen.add(node);
    // Never more children on the stack than the count can still take (a list may hold a million).
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length && stack.length <= limit - count; i++) stack.push(node[i]);
    } else {
      const keys = Object.keys(node);
      for (let i = 0; i < keys.length && stack.length <= limit - count; i++) {
        stack.push((node as Record<string, unknown>)[keys[i]!]);
      }
    }
  }
  return count;
}
