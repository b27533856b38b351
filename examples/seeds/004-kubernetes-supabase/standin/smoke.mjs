/**
 * `npm run test:smoke -- --env <environment>` (Deployment Steps 4, "API"): the API smoke suite
 * against the environment's URL (the runbook's `environments.<env>.url`): the API answers its
 * version, lists canvases from the database with their currency (the column this release's
 * expand migration adds), and queues a job for the worker. One line per test; exit 1 when any
 * fails.
 */
import fs from "node:fs";
import YAML from "yaml";

const i = process.argv.indexOf("--env");
const envName = i >= 0 ? process.argv[i + 1] : undefined;
const runbook = YAML.parse(fs.readFileSync(new URL("../runbook.yaml", import.meta.url), "utf8"), {
  merge: true,
});
const base = runbook.environments?.[envName]?.url;
if (!base) {
  process.stderr.write(`usage: npm run test:smoke -- --env <environment of the runbook> (got ${envName})\n`);
  process.exit(2);
}

const tests = [
  [
    "GET /api/version answers the version and build",
    async () => {
      const r = await fetch(`${base}/api/version`);
      const b = await r.json();
      return r.status === 200 && /^\d+\.\d+\.\d+/.test(b.version) && /^[0-9a-f]{7,40}$/.test(b.build);
    },
  ],
  [
    "GET /api/canvases lists canvases with their currency",
    async () => {
      const r = await fetch(`${base}/api/canvases`);
      const b = await r.json();
      return r.status === 200 && Array.isArray(b) && b.every((c) => typeof c.currency === "string");
    },
  ],
  [
    "POST /api/jobs queues a job for the worker",
    async () => (await fetch(`${base}/api/jobs`, { method: "POST" })).status === 202,
  ],
];

let failed = 0;
for (const [name, test] of tests) {
  let ok = false;
  try {
    ok = await test();
  } catch (err) {
    process.stdout.write(`  (${err.cause?.code ?? err.message})\n`);
  }
  if (!ok) failed++;
  process.stdout.write(`${ok ? "✓" : "✗"} ${name}\n`);
}
process.stdout.write(`${tests.length - failed} passed, ${failed} failed (${base})\n`);
process.exit(failed ? 1 : 0);
