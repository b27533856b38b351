/**
 * YAML with positions. Every later mistake — a schema issue, a broken cross-reference — can
 * point at the line and column where it was written.
 *
 * Two parsers, on purpose: js-yaml reads a well-formed file about five times faster, which is
 * what `gantry validate` and `plan` do most of the time; the `yaml` package keeps positions and
 * gives precise syntax errors, and is used only when a position or an error is needed.
 */
import jsYaml from "js-yaml";
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { Path } from "./diagnostics.js";

/** Aliases beyond this count are refused ("billion laughs"); real runbooks use a handful. */
export const MAX_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  col: number;
}

export interface YamlProblem extends Position {
  message: string;
}

export interface ParsedYaml {
  value: unknown;
  /** The position of a path: the key when `key` is set, else the value. Falls back to the nearest parent. */
  locate(path: Path, key?: boolean): Position;
}

export type YamlResult = { ok: true; yaml: ParsedYaml } | { ok: false; problems: YamlProblem[] };

export function parseYaml(text: string): YamlResult {
  const value = fastLoad(text);
  if (value === undefined) return parsePrecisely(text);
  let precise: ParsedYaml | undefined;
  const locate = (path: Path, key?: boolean): Position => {
    if (!precise) {
      const result = parsePrecisely(text);
      if (!result.ok) return { line: 1, col: 1 };
      precise = result.yaml;
    }
    return precise.locate(path, key);
  };
  return { ok: true, yaml: { value, locate } };
}

/**
 * The value, when js-yaml reads the file cleanly and it has no aliases. Anything else
 * (a syntax error, an alias that must be counted) goes the precise way.
 */
function fastLoad(text: string): unknown {
  let value: unknown;
  try {
    value = jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
  } catch {
    return undefined;
  }
  return value === undefined || hasSharedNodes(value) ? undefined : value;
}

/** An alias shows up as the same object reached twice. */
function hasSharedNodes(root: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (seen.has(node)) return true;
    seen.add(node);
    for (const child of Object.values(node)) stack.push(child);
  }
  return false;
}

function parsePrecisely(text: string): YamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => problem(lineCounter, e.pos[0], yamlMessage(e.code, e.message))),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = (error as Error).message;
    const text = /alias count/i.test(message)
      ? `too many aliases (more than ${MAX_ALIAS_COUNT}); this looks like an alias bomb. Write the values out or use fewer anchors`
      : `cannot read YAML: ${message}`;
    return { ok: false, problems: [{ line: 1, col: 1, message: text }] };
  }
  const warnings = doc.warnings.map((w) => problem(lineCounter, w.pos[0], w.message));
  if (warnings.length > 0) return { ok: false, problems: warnings };
  return { ok: true, yaml: { value, locate: (path, key) => locate(doc, lineCounter, path, key) } };
}

function problem(lines: LineCounter, offset: number, message: string): YamlProblem {
  const { line, col } = lines.linePos(offset);
  return { line, col, message };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key; each key may appear once in a mapping — merge the two or rename one";
    case "TAB_AS_INDENT":
      return "tab used for indentation; YAML indents with spaces only";
    default:
      return `not valid YAML: ${first}`;
  }
}

function locate(doc: Document, lines: LineCounter, path: Path, key = false): Position {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    node = isAlias(node) ? node.resolve(doc) : node;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (!pair) break;
      if (key && i === path.length - 1) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof part === "number") {
      next = node.items[part];
    }
    if (next === undefined || next === null) break;
    node = next;
    offset = rangeStart(node) ?? offset;
  }
  return lines.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | undefined)?.range?.[0];
}
