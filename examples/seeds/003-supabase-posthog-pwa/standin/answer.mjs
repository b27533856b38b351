#!/usr/bin/env node
/**
 * For running a release by hand: answers what RUN waits for (confirmations, the go/no-go
 * decision, checklists, the schedule's sign-off) as the members of the roles the runbook names,
 * as the seed run does: `gantry approve RUN --as MEMBER --role ROLE`, never as the one who
 * started the release. It follows the run's log (`gantry log RUN --follow --json`) and, each
 * time a wait is written, answers what `gantry status RUN` says the run waits for (the
 * stand-in's timeline is compressed: the go/no-go gives 10 seconds), until the run has finished.
 *   node standin/answer.mjs RUN [--data-dir DIR]
 */
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const gantry = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "bin",
  "gantry.js",
);
const [run, ...rest] = process.argv.slice(2);
if (!run) {
  console.error("usage: node standin/answer.mjs RUN [--data-dir DIR]");
  process.exit(2);
}

const follow = spawn(process.execPath, [gantry, "log", run, "--follow", "--json", ...rest], {
  stdio: ["ignore", "pipe", "inherit"],
});
let roles = {};
let operator;
let rollbackBy;
let checking = false;
let again = false;
// How many approvals were sent for each step and role: an approval reaches the run a moment
// after `gantry approve` returns, and the status may not count it yet.
const sent = new Map();

const cli = (args) =>
  new Promise((resolve) =>
    execFile(process.execPath, [gantry, ...args, ...rest], (err, stdout, stderr) =>
      resolve({ ok: !err, stdout, stderr: String(stderr).trim() }),
    ),
  );

/**
 * Answers what the run waits for now, as `gantry status` says: waits can overlap (a rule's
 * missing data holds the run during a checklist), and an approval goes to the current one.
 * A hold names no role: the on-call role that may roll back answers it.
 */
async function answerCurrent() {
  if (checking) {
    again = true;
    return;
  }
  checking = true;
  for (;;) {
    again = false;
    const status = await cli(["status", run, "--json"]);
    const w = status.ok ? JSON.parse(status.stdout).waiting : undefined;
    let approved = 0;
    if (w) {
      const wanted = w.approvers.length ? w.approvers : [{ role: rollbackBy, count: 1 }];
      for (const { role, count } of wanted) {
        const key = `${w.step}:${role}`;
        const done = Math.max(w.counted.filter((c) => c.role === role).length, sent.get(key) ?? 0);
        const members = (roles[role] ?? []).filter((m) => m !== operator && !w.approvals.includes(m));
        for (const member of members.slice(0, Math.max(0, count - done))) {
          const args = ["approve", run, "--as", member, "--role", role];
          const r = await cli([...args, "--comment", "stand-in: answered as a member of the role"]);
          console.log(
            `${w.step}: ${r.ok ? "approved" : `not approved (${r.stderr})`} as ${member} (${role})`,
          );
          if (r.ok) {
            sent.set(key, (sent.get(key) ?? 0) + 1);
            approved++;
          }
        }
      }
    }
    // Look again while answers go through: the next wait may already be there.
    if (!approved && !again) break;
  }
  checking = false;
}

for await (const line of readline.createInterface({ input: follow.stdout })) {
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    continue;
  }
  if (event.kind === "run.created") {
    roles = event.data.roles ?? {};
    operator = event.data.operator;
    rollbackBy = event.data.rollbackBy;
  }
  if (event.kind === "approval.waiting") answerCurrent();
  if (event.kind === "run.finished") {
    console.log(`${run}: ${event.data.outcome}${event.data.reason ? ` — ${event.data.reason}` : ""}`);
    break;
  }
}
follow.kill();
