/**
 * The quickstart, end to end: `npm run quickstart`.
 *
 * Releases the quickstart service three times on the embedded default (.gantry/):
 *   v1.0.0  a healthy first version                  → released
 *   v2.0.0  a defect a few seconds after it starts   → rolled back to 1.0.0 on its own
 *   v3.0.0  the fix                                  → released
 * then stops the service it started. Exits 0 when the three outcomes are as above.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = path.join(root, "bin/gantry.js");
const runbook = path.relative(process.cwd(), path.join(here, "runbook.yaml"));
const dataDir = process.env.GANTRY_DATA_DIR ?? path.join(root, ".gantry");

const steps = [
  { ref: "v1.0.0", expect: "released", why: "a healthy first version" },
  { ref: "v2.0.0", expect: "rolled_back", why: "has a defect: monitoring should catch it and roll back" },
  { ref: "v3.0.0", expect: "released", why: "the fix" },
];

const results = [];
for (const step of steps) {
  console.log(`\n━━ gantry release ${runbook} --env local --ref ${step.ref}   (${step.why})\n`);
  const r = spawnSync(process.execPath, [bin, "release", runbook, "--env", "local", "--ref", step.ref], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    env: { ...process.env, GANTRY_DATA_DIR: dataDir },
  });
  process.stdout.write(r.stdout);
  const outcome = /^(\w+):/m.exec(r.stdout)?.[1] ?? `exit ${r.status}`;
  results.push({ ...step, outcome });
  if (r.status === 130) process.exit(130);
}

stopService();

console.log("\n━━ quickstart summary\n");
for (const r of results) {
  const ok = r.outcome === r.expect ? "✔" : "✖";
  console.log(`  ${ok} ${r.ref.padEnd(8)} ${r.outcome.padEnd(12)} (expected ${r.expect})`);
}
console.log("\n  Look closer:  npx gantry status            npx gantry log <run>");
process.exit(results.every((r) => r.outcome === r.expect) ? 0 : 1);

/** The local-process provider leaves the service running after a release; the quickstart cleans up. */
function stopService() {
  const file = path.join(dataDir, "services/quickstart/local/state.json");
  try {
    const state = JSON.parse(fs.readFileSync(file, "utf8"));
    if (state.current?.pid) {
      process.kill(-state.current.pid, "SIGTERM");
      console.log(`\n(stopped the quickstart service ${state.current.version}, pid ${state.current.pid})`);
    }
  } catch {
    // not running
  }
}
