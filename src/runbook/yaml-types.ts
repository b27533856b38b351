/** What parsing a runbook's YAML gives: the value with positions, or the problems. */
import type { Path } from "./diagnostics.js";

export interface Position {
  line: number;
  col: number;
}

export interface YamlProblem extends Position {
  message: string;
  /** The field the problem is at, when known (`gates[3].run`). */
  path?: string;
}

export interface ParsedYaml {
  value: unknown;
  /** The position of a path: the key when `key` is set, else the value. Falls back to the nearest parent. */
  locate(path: Path, key?: boolean): Position;
}

export type YamlResult =
  | { ok: true; yaml: ParsedYaml }
  /** `problems` holds the first `MAX_SHOWN` in file order; `omitted` counts the rest. */
  | { ok: false; problems: YamlProblem[]; omitted: number };
