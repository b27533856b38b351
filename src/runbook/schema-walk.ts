/**
 * Walking the zod declaration alongside a value: which schema describes the value at a path.
 * Used to suggest keys ("did you mean `gates`?"), to describe a missing key, and to find
 * secret-bearing fields. Reads zod's definition objects; kept in this one file.
 */
import type * as z from "zod";
import { globalRegistry } from "zod";

type Schema = z.core.$ZodType;
type Def = { type: string; [key: string]: unknown };

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"]);

function def(schema: Schema): Def {
  return schema._zod.def as unknown as Def;
}

const metaCache = new WeakMap<Schema, Record<string, unknown>>();
const unwrapCache = new WeakMap<Schema, Schema>();

/** The meta registered on a schema or on any wrapper around it. */
export function metaOf(schema: Schema): Record<string, unknown> {
  const cached = metaCache.get(schema);
  if (cached) return cached;
  let current: Schema | undefined = schema;
  const merged: Record<string, unknown> = {};
  while (current) {
    Object.assign(merged, { ...(globalRegistry.get(current) ?? {}), ...merged });
    const d = def(current);
    if (WRAPPERS.has(d.type)) current = d.innerType as Schema;
    else if (d.type === "pipe") current = d.in as Schema;
    else current = undefined;
  }
  metaCache.set(schema, merged);
  return merged;
}

/** Strips optional/default/pipe wrappers down to the schema that decides the shape. */
export function unwrap(schema: Schema): Schema {
  const cached = unwrapCache.get(schema);
  if (cached) return cached;
  let current = schema;
  for (;;) {
    const d = def(current);
    if (WRAPPERS.has(d.type)) current = d.innerType as Schema;
    else if (d.type === "pipe") current = d.in as Schema;
    else if (d.type === "lazy") current = (d.getter as () => Schema)();
    else break;
  }
  unwrapCache.set(schema, current);
  return current;
}

const alternativesCache = new WeakMap<Schema, Map<unknown, Schema[]>>();

/** The alternatives a value may match here; a discriminated union narrows by the value's discriminator. */
export function alternatives(schema: Schema, value: unknown): Schema[] {
  const inner = unwrap(schema);
  const d = def(inner);
  if (d.type !== "union" && d.type !== "intersection") return [inner];
  const discriminator = d.discriminator as string | undefined;
  const key =
    discriminator && value && typeof value === "object"
      ? (value as Record<string, unknown>)[discriminator]
      : undefined;
  let byKey = alternativesCache.get(inner);
  if (!byKey) {
    byKey = new Map();
    alternativesCache.set(inner, byKey);
  }
  const cached = byKey.get(key);
  if (cached) return cached;
  const result = computeAlternatives(inner, value);
  byKey.set(key, result);
  return result;
}

function computeAlternatives(inner: Schema, value: unknown): Schema[] {
  const d = def(inner);
  if (d.type === "union") {
    const options = d.options as Schema[];
    const discriminator = d.discriminator as string | undefined;
    if (discriminator && value && typeof value === "object" && discriminator in value) {
      const wanted = (value as Record<string, unknown>)[discriminator];
      const match = options.filter((o) => literalOf(o, discriminator) === wanted);
      if (match.length > 0) return match.flatMap((o) => alternatives(o, value));
    }
    return options.flatMap((o) => alternatives(o, value));
  }
  if (d.type === "intersection")
    return [...alternatives(d.left as Schema, value), ...alternatives(d.right as Schema, value)];
  return [inner];
}

function literalOf(schema: Schema, key: string): unknown {
  const shape = shapeOf(unwrap(schema));
  const field = shape?.[key];
  if (!field) return undefined;
  const d = def(unwrap(field));
  return d.type === "literal" ? (d.values as unknown[])[0] : undefined;
}

function shapeOf(schema: Schema): Record<string, Schema> | undefined {
  const d = def(schema);
  return d.type === "object" ? (d.shape as Record<string, Schema>) : undefined;
}

/** Keys an object may have at this point, given the value written there. */
export function knownKeys(schema: Schema, value: unknown): string[] {
  const keys = new Set<string>();
  for (const alt of alternatives(schema, value)) for (const k of Object.keys(shapeOf(alt) ?? {})) keys.add(k);
  return [...keys];
}

/** The schema for `value[part]`, or undefined when the declaration has no such child. */
export function child(schema: Schema, value: unknown, part: string | number): Schema | undefined {
  for (const alt of alternatives(schema, value)) {
    const d = def(alt);
    if (d.type === "object") {
      const field = (d.shape as Record<string, Schema>)[String(part)];
      if (field) return field;
    } else if (d.type === "array" && typeof part === "number") return d.element as Schema;
    else if (d.type === "record") return d.valueType as Schema;
  }
  return undefined;
}

/** Follows `path` from the root; also returns the value found at each step. */
export function schemaAt(
  root: Schema,
  value: unknown,
  path: ReadonlyArray<string | number>,
): { schema: Schema; value: unknown } | undefined {
  let schema: Schema | undefined = root;
  let current = value;
  for (const part of path) {
    schema = child(schema, current, part);
    if (!schema) return undefined;
    current =
      current && typeof current === "object"
        ? (current as Record<string | number, unknown>)[part]
        : undefined;
  }
  return { schema, value: current };
}

/** Calls `visit` for every string in `value`, with the schema that declares it. */
export function walkStrings(
  root: Schema,
  value: unknown,
  visit: (text: string, schema: Schema, path: Array<string | number>) => void,
  path: Array<string | number> = [],
): void {
  if (typeof value === "string") {
    visit(value, root, path);
    return;
  }
  if (!value || typeof value !== "object") return;
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, item] of entries) {
    const next = child(root, value, key);
    if (next) walkStrings(next, item, visit, [...path, key]);
  }
}
