/**
 * The ten releases of the five seeds (examples/seeds/README.md), through the `gantry` binary
 * against each seed's stand-in, as `npm run seeds` runs them: every healthy release is released,
 * every faulty one rolls back with the reason its seed names and leaves the previous version
 * serving, and no secret of the stand-in reaches any output, log, report or view of the run.
 * Three seeds run at a time (their stand-ins use separate port blocks); their timings are in
 * `npm run seeds`, not asserted here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSeed, type SeedRow, seedsWithStandins } from "../scripts/seed-run.js";

/** Seeds run at once: their stand-ins and releases are light, but a 2-core machine is shared. */
const AT_ONCE = 3;

const seeds = seedsWithStandins();
const logs = new Map<string, string[]>();
let slots = AT_ONCE;
const waiting: Array<() => void> = [];
const slot = async () => {
  if (slots > 0) slots--;
  else await new Promise<void>((resolve) => waiting.push(resolve));
};
const free = () => {
  const next = waiting.shift();
  if (next) next();
  else slots++;
};
const results = new Map(
  seeds.map((seed) => {
    const lines: string[] = [];
    logs.set(seed, lines);
    const rows: Promise<SeedRow[] | Error> = slot()
      .then(() => runSeed(seed, { log: (line) => lines.push(line) }))
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
      .finally(free);
    return [seed, rows] as const;
  }),
);

describe("every seed's releases against its stand-in", () => {
  it("covers all five seeds", () => assert.equal(seeds.length, 5));
  for (const seed of seeds) {
    it(`${seed}: the healthy release is released, the faulty one rolls back and the previous version serves`, async () => {
      const rows = await results.get(seed)!;
      const log = () => `\n${logs.get(seed)!.join("\n")}`;
      if (rows instanceof Error) assert.fail(`${rows.message}${log()}`);
      assert.ok(rows.length >= 2, `${seed} ran ${rows.length} releases${log()}`);
      assert.deepEqual(
        rows.flatMap((r) => r.problems.map((p) => `${r.ref}: ${p}`)),
        [],
        `${seed}${log()}`,
      );
      const faulty = rows.at(-1)!;
      assert.equal(faulty.outcome, "rolled_back");
      assert.ok(rows.some((r) => r.outcome === "released"));
    });
  }
});
