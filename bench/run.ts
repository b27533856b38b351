/**
 * `npm run bench`: the figures issues ask for, measured on this machine and printed.
 * Nothing here is asserted; the test suite never depends on timing.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { loadRunbook } from "../src/runbook/load.js";
import { plan } from "../src/runbook/plan/plan.js";
import { canaryRows } from "./canary.js";
import { dashboardRows } from "./dashboard.js";
import { engineRows } from "./engine.js";
import { eventRows } from "./events.js";
import { maskingRows } from "./masking.js";
import { migrationRows } from "./migrations.js";
import { notifyRows } from "./notify.js";
import { probeRows } from "./probes.js";
import { reportRows } from "./reports.js";
import { restartRows } from "./restart.js";
import { serverRows } from "./server.js";
import { stepRows } from "./steps.js";
import { validateRows } from "./validate.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/gantry.js");
const LARGEST_SEED = join(ROOT, "examples/seeds/002-replit-neon-stripe/runbook.yaml");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall time of a whole process: median and fastest of `runs`. */
function wall(args: string[], runs: number, script: string[] = [BIN]): string {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const r = spawnSync(process.execPath, [...script, ...args], { encoding: "utf8" });
    times.push(performance.now() - start);
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stdout}${r.stderr}`);
  }
  return `${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)})`;
}

/** A valid runbook of at least `lines` lines: the full fixture plus smoke tests. */
function bigRunbook(lines: number): string {
  let text = readFileSync(join(ROOT, "test/fixtures/runbooks/valid-full.yaml"), "utf8");
  const smoke = text.indexOf("\nintegrity:");
  let extra = "";
  for (let i = 0; text.split("\n").length + extra.split("\n").length < lines; i++) {
    extra += `
  - name: endpoint-${i}
    type: http
    method: GET
    url: "{{ env.url }}/api/items/${i}"
    headers: { Authorization: "Bearer {{ captures.token }}" }
    expect: { status: [200], body: [{ path: $.id, equals: ${i} }] }
    samples: 10
    budget: { p95: 250ms, max: 500ms, errorRate: 0.5% }`;
  }
  text = text.slice(0, smoke) + extra + text.slice(smoke);
  return text;
}

const dir = mkdtempSync(join(tmpdir(), "gantry-bench-"));
const big = join(dir, "runbook-1000.yaml");
writeFileSync(big, bigRunbook(1000));
// The fixture's migration files, which validate lints too.
cpSync(join(ROOT, "test/fixtures/runbooks/migrations"), join(dir, "migrations"), { recursive: true });
const bigLines = readFileSync(big, "utf8").split("\n").length;

const rows: Array<[string, string, string, string]> = [];
rows.push([
  "node itself, empty script: the floor under every wall time",
  wall(["-e", ""], 10, []),
  "—",
  'node -e ""',
]);
rows.push([
  `gantry validate, ${bigLines}-line runbook (wall, median of 10)`,
  wall(["validate", big], 10),
  "≤ 300 ms",
  `node bin/gantry.js validate ${big}`,
]);
rows.push([
  "gantry --help (wall, median of 10)",
  wall(["--help"], 10),
  "≤ 150 ms",
  "node bin/gantry.js --help",
]);

const loaded = loadRunbook(LARGEST_SEED);
if (!loaded.runbook) throw new Error("the largest seed does not validate");
const runbook = loaded.runbook;
const times: number[] = [];
for (let i = 0; i < 200; i++) {
  const start = performance.now();
  plan(runbook, {
    env: "production",
    ref: "v2.0.0",
    at: "2025-10-07T10:10:00-04:00",
    atGiven: true,
    file: LARGEST_SEED,
  });
  times.push(performance.now() - start);
}
const seedLines = readFileSync(LARGEST_SEED, "utf8").split("\n").length;
rows.push([
  `plan() for the largest seed (${seedLines} lines, in process, median of 200)`,
  `${median(times).toFixed(2)} ms`,
  "≤ 100 ms",
  "npm run bench",
]);
const planArgs = ["plan", LARGEST_SEED, "--env", "production", "--ref", "v2.0.0"];
rows.push([
  "gantry plan, largest seed: load + validate + plan (wall, median of 10)",
  wall(planArgs, 10),
  "—",
  `node bin/gantry.js ${planArgs.join(" ").replace(ROOT, "")}`,
]);

rows.push(...validateRows());
rows.push(...maskingRows());
rows.push(...(await probeRows()));
rows.push(...(await migrationRows()));
rows.push(...(await eventRows()));
rows.push(...(await reportRows()));
if (!process.argv.includes("--no-engine")) {
  rows.push(...(await stepRows()));
  rows.push(...(await engineRows()));
  rows.push(...(await restartRows()));
  rows.push(...(await notifyRows()));
  rows.push(...(await serverRows()));
  rows.push(...(await dashboardRows()));
  rows.push(...(await canaryRows()));
}

// Every figure with a numeric goal says whether it met it.
const UNITS: Record<string, number> = { µs: 1e-3, ms: 1, s: 1000, MB: 1, MiB: 1, "%": 1 };
for (const row of rows) row[1] = judged(row[1], row[2]);
const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
process.stdout.write(`Gantry bench — node ${process.version}, ${process.platform}/${process.arch}\n\n`);
for (const [what, value, goal, command] of rows) {
  process.stdout.write(
    `${what.padEnd(width[0]!)}  ${value.padStart(width[1]!)}  goal ${goal.padEnd(width[2]!)}  $ ${command}\n`,
  );
}

/** `figure` with ", met" or ", missed" added when `goal` is `≤ N unit` (or ends in one) and the figure starts with a number. */
function judged(figure: string, goal: string): string {
  if (/\b(met|missed)\b/.test(figure)) return figure;
  const g = /≤ .*?([\d.]+) ?(µs|ms|s|MB|MiB)\s*$/.exec(goal) ?? /^within ([\d.]+)(%)$/.exec(goal);
  const f = /^(-?[\d.]+) ?(µs|ms|s|MB|MiB)\b/.exec(figure) ?? /\((-?[\d.]+)(%)\)/.exec(figure);
  if (!g || !f || (UNITS[g[2]!] === undefined) !== (UNITS[f[2]!] === undefined)) return figure;
  const sameKind = (g[2] === "%") === (f[2] === "%") && /B$/.test(g[2]!) === /B$/.test(f[2]!);
  if (!sameKind) return figure;
  const value = Math.abs(Number(f[1]) * UNITS[f[2]!]!);
  return `${figure}, ${value <= Number(g[1]) * UNITS[g[2]!]! ? "met" : "missed"}`;
}
