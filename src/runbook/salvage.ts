/**
 * The valid parts of a runbook the schema refused, so the cross-field rules can still run on
 * them and one `gantry validate` reports every error of a file.
 *
 * Each part the schema accepted is parsed on its own (defaults applied, as in a valid runbook);
 * each part it refused keeps the value as written and is marked. A key the schema did not know
 * marks the known key it probably meant (`gatse` marks `gates`), and a missing key marks
 * itself: the rules must not take either for an absent section. `guard` then hands a rule
 * views of the runbook that stop it when it reads a marked part, so what the rule reports is
 * never a follow-on of an error already reported (rules/guarded.ts).
 */
import type * as z from "zod";
import type { Path } from "./diagnostics.js";
import { closest } from "./suggest.js";

type Schema = z.core.$ZodType;
type Def = { type: string; [key: string]: unknown };
const def = (schema: Schema): Def => schema._zod.def as unknown as Def;

/** Wrappers whose inner schema decides a value that is written (not undefined). */
const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly"]);

/** The issue paths, as a tree: a marked node is a part the schema refused (or one the rules must not read as absent). */
export class Marks {
  readonly children = new Map<string, Marks>();
  marked = false;
  /** Keys written here that the schema does not know. */
  unknownKeys: string[] = [];

  at(path: Path): Marks {
    let node: Marks = this;
    for (const part of path) {
      const key = String(part);
      let next = node.children.get(key);
      if (!next) {
        next = new Marks();
        node.children.set(key, next);
      }
      node = next;
    }
    return node;
  }

  /** Whether `path` is a marked part or inside one. */
  covers(path: Path): boolean {
    let node: Marks | undefined = this;
    for (const part of path) {
      if (node.marked) return true;
      node = node.children.get(String(part));
      if (!node) return false;
    }
    return node.marked;
  }
}

/** The issues' paths as marks; `unrecognized_keys` notes the keys on their object instead. */
export function marksOf(
  issues: ReadonlyArray<{ code: string; path: PropertyKey[]; keys?: string[] }>,
): Marks {
  const root = new Marks();
  for (const issue of issues) {
    const node = root.at(issue.path as Path);
    if (issue.code === "unrecognized_keys") node.unknownKeys.push(...(issue.keys ?? []));
    else node.marked = true;
  }
  return root;
}

/**
 * The value parsed where `marks` has no issue, as written where it has one. Parses each
 * accepted part once, so it costs about one parse of the whole. Adds marks for the keys that
 * unknown keys were probably meant to be, and for parts that cannot be taken apart (a union,
 * a transform): those are refused whole.
 */
export function salvage(schema: Schema, value: unknown, marks: Marks): unknown {
  if (marks.marked) return value;
  if (marks.children.size === 0 && marks.unknownKeys.length === 0) {
    const result = (schema as z.ZodType).safeParse(value, { jitless: true });
    if (result.success) return result.data;
    marks.marked = true;
    return value;
  }
  let inner = schema;
  while (WRAPPERS.has(def(inner).type) && value !== undefined && value !== null) {
    inner = def(inner).innerType as Schema;
  }
  const d = def(inner);
  const mapping = value !== null && typeof value === "object" && !Array.isArray(value);
  if (d.type === "object" && mapping) return salvageObject(d, value as Record<string, unknown>, marks);
  if (d.type === "array" && Array.isArray(value)) {
    return value.map((item, i) => salvage(d.element as Schema, item, marks.at([i])));
  }
  if (d.type === "record" && mapping) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      define(out, key, salvage(d.valueType as Schema, item, marks.at([key])));
    }
    return out;
  }
  marks.marked = true;
  return value;
}

function salvageObject(d: Def, value: Record<string, unknown>, marks: Marks): Record<string, unknown> {
  const shape = d.shape as Record<string, Schema>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const written = Object.hasOwn(value, key);
    const parsed = salvage(field, value[key], marks.at([key]));
    if (written || parsed !== undefined) define(out, key, parsed);
  }
  const absent = Object.keys(shape).filter((k) => !Object.hasOwn(value, k));
  for (const key of marks.unknownKeys) {
    const meant = closest(key, absent);
    if (meant) marks.at([meant]).marked = true;
  }
  return out;
}

/** `object[key] = value`, also for a key named `__proto__` (as js-yaml does). */
function define(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
