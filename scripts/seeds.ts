/**
 * `npm run seeds [-- SEED…]`: every seed's healthy and faulty release against its stand-in
 * (examples/seeds/README.md), then one table: seed, version, outcome, detection and rollback
 * durations, messages sent. Exits 0 when every release ended as its releases.json says.
 */
import { runSeed, type SeedRow, seedFolder, seedsWithStandins } from "./seed-run.js";

const asked = process.argv.slice(2);
const seeds = asked.length > 0 ? asked.map((a) => seedFolder(a) ?? a) : seedsWithStandins();
const unknown = seeds.filter((s) => !seedsWithStandins().includes(s));
if (unknown.length > 0) {
  console.error(`no stand-in for ${unknown.join(", ")}; seeds with one: ${seedsWithStandins().join(", ")}`);
  process.exit(2);
}

const rows: SeedRow[] = [];
const failures: string[] = [];
const started = Date.now();
for (const seed of seeds) {
  try {
    rows.push(...(await runSeed(seed, { log: (line) => console.log(line) })));
  } catch (e) {
    failures.push(`${seed}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`);
const table = [
  ["seed", "version", "outcome", "expected", "detection", "rollback", "messages", "wall"],
  ...rows.map((r) => [
    r.seed.slice(0, 3),
    r.ref,
    r.outcome,
    r.problems.length === 0 ? "✔" : "✖",
    seconds(r.detectionMs),
    seconds(r.rollbackMs),
    String(r.messages),
    seconds(r.wallMs),
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
console.log("");
for (const row of table) console.log(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`);
for (const r of rows) for (const p of r.problems) console.log(`  ✖ ${r.seed.slice(0, 3)} ${r.ref}: ${p}`);
for (const f of failures) console.log(`  ✖ ${f}`);
// The issue's budget: the ten releases (five seeds, healthy and faulty) within 10 minutes.
const total = Date.now() - started;
const all = seeds.length === seedsWithStandins().length;
console.log(
  `\n  ${rows.length} releases in ${seconds(total)}${all ? ` (all seeds one after another; target 10 min: ${total <= 600_000 ? "met" : "missed"})` : ""}`,
);
console.log(
  "\n  detection: from the deploy (T) to the rollback's start, on the seed's compressed timeline (its runbook's timeScale); rollback: from the rule firing to the rollback done.",
);
process.exit(failures.length === 0 && rows.every((r) => r.problems.length === 0) ? 0 : 1);
