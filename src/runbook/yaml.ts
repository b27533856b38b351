/**
 * YAML with positions, and merge keys. Every later mistake — a schema issue, a broken cross-reference — can
 * point at the line and column where it was written.
 *
 * js-yaml reads the file, in one pass and with bounded depth; a listener on its node events
 * records where each node starts (yaml-nodes.ts), which is all `locate` needs. A syntax error
 * is explained in yaml-syntax.ts.
 *
 * Bounded for any file under the size limit: nesting deeper than `MAX_DEPTH`, alias bombs
 * and alias cycles are refused, and an unquoted `{{ … }}` (which YAML reads as a mapping with
 * a mapping for a key) is reported here, once per place, before the schema sees it.
 */
import jsYaml from "js-yaml";
import { MAX_SHOWN } from "./diagnostics.js";
import { YamlNodes } from "./yaml-nodes.js";
import { explain } from "./yaml-syntax.js";
import type { YamlResult } from "./yaml-types.js";

/** Lists and mappings nested deeper than this are refused; real runbooks use fewer than ten levels. */
export const MAX_DEPTH = 64;

/** Aliases beyond this count (after expansion) are refused ("billion laughs"); real runbooks use a handful. */
export const MAX_ALIAS_COUNT = 100;

/**
 * js-yaml counts the nodes it is composing, not the levels: below the deepest level there is a
 * scalar, and in block context js-yaml first tries to read each value as a mapping key.
 */
const JS_YAML_MAX_DEPTH = MAX_DEPTH + 2;

/**
 * YAML 1.2's core schema and merge keys (`<<: *production`), which teams use to share an
 * environment's settings: a key written beside `<<` wins over the merged one.
 */
// js-yaml exports its types as `types`; @types/js-yaml does not declare it.
const { merge } = (jsYaml as unknown as { types: { merge: jsYaml.Type } }).types;
const SCHEMA = jsYaml.CORE_SCHEMA.extend({ implicit: [merge] });

export type { ParsedYaml, Position, YamlProblem, YamlResult } from "./yaml-types.js";

export function parseYaml(text: string): YamlResult {
  const nodes = new YamlNodes(text);
  let value: unknown;
  try {
    // `maxDepth` is js-yaml 4.3's and not in its types yet.
    const options: jsYaml.LoadOptions & { maxDepth: number } = {
      schema: SCHEMA,
      maxDepth: JS_YAML_MAX_DEPTH,
      listener: nodes.listener,
    };
    value = jsYaml.load(text, options);
  } catch (error) {
    if (!(error instanceof jsYaml.YAMLException)) throw error;
    const problems = explain(text, error, MAX_DEPTH);
    return {
      ok: false,
      problems: problems.slice(0, MAX_SHOWN),
      omitted: Math.max(0, problems.length - MAX_SHOWN),
    };
  }
  if (nodes.collectionKeys.length > 0) return nodes.collectionKeyProblems();
  if (nodes.aliases) {
    const problem = aliasProblem(value);
    if (problem) return { ok: false, problems: [{ line: 1, col: 1, message: problem }], omitted: 0 };
  }
  return { ok: true, yaml: { value, locate: (path, key) => nodes.locate(path, key) } };
}

/**
 * js-yaml shares a node between its anchor and its aliases, so nothing is expanded while
 * reading; what follows (the schema, the rules) walks the value as a tree and would expand
 * it. Counts the aliases as they would be expanded, and refuses a cycle.
 */
function aliasProblem(root: unknown): string | undefined {
  const seen = new Set<object>();
  const open = new Set<object>();
  const memo = new Map<object, number>();
  let cycle = false;
  const expanded = (node: object): number => {
    const known = memo.get(node);
    if (known !== undefined) return known;
    open.add(node);
    let count = 0;
    for (const child of Object.values(node)) {
      if (child === null || typeof child !== "object") continue;
      if (open.has(child)) {
        cycle = true;
        return Number.POSITIVE_INFINITY;
      }
      if (seen.has(child)) count += 1 + expanded(child);
      else {
        seen.add(child);
        count += expanded(child);
      }
      if (count > MAX_ALIAS_COUNT) break;
    }
    open.delete(node);
    memo.set(node, count);
    return count;
  };
  if (root === null || typeof root !== "object") return undefined;
  seen.add(root);
  if (expanded(root) <= MAX_ALIAS_COUNT) return undefined;
  return cycle
    ? "an alias refers to the list or mapping it is in, which never ends; write the values out"
    : `too many aliases (more than ${MAX_ALIAS_COUNT}); this looks like an alias bomb. Write the values out or use fewer anchors`;
}
