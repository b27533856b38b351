/**
 * Bounded validation figures for `npm run bench` (issue 10, item 6): `gantry validate` on
 * hostile files just under the 2 MB input limit — wall time and peak memory (RSS) of the
 * whole process. Goals: ≤ 1 s and ≤ 200 MB for a file of unquoted `{{ }}`.
 *
 * Peak RSS comes from the process itself: a two-line wrapper imports the binary and, on exit,
 * writes `process.resourceUsage().maxRSS` to file descriptor 3 (no /usr/bin/time needed).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { HOSTILE_HEAD, repeatUnits } from "../test/helpers/hostile.js";
import type { Row } from "./engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/gantry.js");
const RUNS = 5;
const WALL_GOAL_MS = 1000;
const RSS_GOAL_MB = 200;

const HEAD = HOSTILE_HEAD;

/** `head` then `unit(i)` for i = 0, 1, … while the file stays under the input limit. */
function fill(head: string, unit: (i: number) => string): string {
  return repeatUnits(head, unit).text;
}

export const HOSTILE: Record<string, () => string> = {
  /** Gates whose command is an unquoted template (`run: {{ release.version }}`). */
  "unquoted-gates": () => fill(`${HEAD}gates:\n`, () => "  - name: x\n    run: {{ release.version }}\n"),
  /** A list of flow mappings `{{ a }}`, one a line. */
  "unquoted-list": () => fill(`${HEAD}gates:\n`, () => "  - {{ a }}\n"),
  /** One line: `[{{ a }}, {{ a }}, …]`. */
  "unquoted-flow": () => `${fill(`${HEAD}gates: [`, () => "{{ a }}, ")}]\n`,
  /** A list of a million numbers where mappings belong: every item is a schema error. */
  "numbers-list": () => `${fill(`${HEAD}gates: [`, () => "1,")}1]\n`,
  /** 10,000 nested lists. */
  "deep-nesting": () => `${HEAD}gates: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`,
};

/** Wall time (ms) and peak RSS (MB) of one `gantry validate FILE`. */
function measure(file: string, wrapper: string): { ms: number; mb: number } {
  const start = performance.now();
  const r = spawnSync(process.execPath, [wrapper, "validate", file], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  const ms = performance.now() - start;
  if (r.status !== 1) throw new Error(`gantry validate ${file} exited ${r.status}: ${r.stderr}`);
  const kb = Number(r.output[3]);
  return { ms, mb: kb / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function validateRows(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-validate-"));
  const wrapper = join(dir, "measure.mjs");
  writeFileSync(
    wrapper,
    `import { writeSync } from "node:fs";
process.on("exit", () => writeSync(3, String(process.resourceUsage().maxRSS)));
process.argv.splice(1, 1, ${JSON.stringify(BIN)});
await import(${JSON.stringify(pathToFileURL(BIN).href)});
`,
  );
  const rows: Row[] = [];
  for (const [name, make] of Object.entries(HOSTILE)) {
    const file = join(dir, `${name}.yaml`);
    const text = make();
    writeFileSync(file, text);
    const runs = Array.from({ length: RUNS }, () => measure(file, wrapper));
    const ms = median(runs.map((r) => r.ms));
    const mb = Math.max(...runs.map((r) => r.mb));
    const size = `${(text.length / 1024 / 1024).toFixed(2)} MB`;
    const command = `node bin/gantry.js validate ${file}`;
    rows.push([
      `gantry validate, ${size} ${name} (wall, median of ${RUNS})`,
      `${ms.toFixed(0)} ms (min ${Math.min(...runs.map((r) => r.ms)).toFixed(0)}), ${ms <= WALL_GOAL_MS ? "met" : "missed"}`,
      "≤ 1 s",
      command,
    ]);
    rows.push([
      `gantry validate, ${size} ${name} (peak RSS, max of ${RUNS})`,
      `${mb.toFixed(0)} MB, ${mb <= RSS_GOAL_MB ? "met" : "missed"}`,
      `≤ ${RSS_GOAL_MB} MB`,
      `/usr/bin/time -v ${command}`,
    ]);
  }
  return rows;
}

// `node dist/bench/validate.js` prints these rows alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of validateRows()) process.stdout.write(`${row.join("  |  ")}\n`);
}
