/**
 * The people of the runbook's roles, for a release run by hand against the stand-in:
 * `node standin/people.mjs RUN --data-dir DIR` watches the run (`gantry status RUN --json`)
 * and answers whatever it waits for (a confirmation, a decision, a checklist) with
 * `gantry approve RUN --as MEMBER --role ROLE`, as many members of each role the step names as
 * it needs, never the one who started the release, as examples/seeds/README.md's People
 * section says. It exits when the run has finished. `npm run seeds` does the same itself.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const GANTRY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "bin",
  "gantry.js",
);
const [run] = process.argv.slice(2);
const i = process.argv.indexOf("--data-dir");
const dataDir = i >= 0 ? process.argv[i + 1] : undefined;
if (!run || !dataDir) {
  process.stderr.write("usage: node standin/people.mjs RUN --data-dir DIR\n");
  process.exit(2);
}
const execute = promisify(execFile);
const gantry = async (args) =>
  (await execute(process.execPath, [GANTRY, ...args, "--data-dir", dataDir], { encoding: "utf8" })).stdout;

/** One member's answer; several run at once (a checklist that two roles sign). */
async function approve(member, role) {
  try {
    process.stdout.write(await gantry(["approve", run, "--as", member, "--role", role]));
  } catch (e) {
    process.stdout.write(`(${member} for ${role}: ${String(e.stderr ?? e.message).trim()})\n`);
  }
}

const answered = new Set();
for (;;) {
  let s;
  try {
    s = JSON.parse(await gantry(["status", run, "--json"]));
  } catch {
    await sleep(300);
    continue;
  }
  if (!["running", "waiting", "queued"].includes(s.status)) break;
  const w = s.waiting;
  if (w) {
    const already = new Set([...(w.approvals ?? []), ...(w.counted ?? [])].map((a) => a.by ?? a.name ?? a));
    const answers = [];
    for (const { role, count } of w.approvers ?? []) {
      const members = (s.roles[role] ?? []).filter((m) => m !== s.operator && !already.has(m));
      for (const member of members.slice(0, count)) {
        const key = `${w.step}:${member}`;
        if (answered.has(key)) continue;
        answered.add(key);
        answers.push(approve(member, role));
      }
    }
    await Promise.all(answers);
  }
  await sleep(300);
}
