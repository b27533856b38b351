#!/usr/bin/env node
/**
 * For running a release by hand: answers what RUN waits for (confirmations, the go/no-go
 * decision, checklists, the schedule's sign-off) as the members of the roles the runbook names,
 * as the seed run does: `gantry approve RUN --as MEMBER --role ROLE`, never as the one who
 * started the release. It follows the run's log (`gantry log RUN --follow --json`) and answers
 * each wait as soon as it is written (the stand-in's timeline is compressed: the go/no-go gives
 * 10 seconds), until the run has finished.
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
const pending = [];

function approve(step, member, role) {
  const args = [gantry, "approve", run, "--as", member, "--role", role, ...rest];
  args.push("--comment", "stand-in: answered as a member of the role");
  pending.push(
    new Promise((resolve) =>
      execFile(process.execPath, args, (err, _out, stderr) => {
        if (err) console.error(`${step}: approve as ${member} failed: ${stderr.trim()}`);
        else console.log(`${step}: approved as ${member} (${role})`);
        resolve();
      }),
    ),
  );
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
  }
  if (event.kind === "approval.waiting") {
    for (const { role, count } of event.data.approvers ?? []) {
      const members = (roles[role] ?? []).filter((m) => m !== operator);
      for (const member of members.slice(0, count)) approve(event.step, member, role);
    }
  }
  if (event.kind === "run.finished") {
    console.log(`${run}: ${event.data.outcome}${event.data.reason ? ` — ${event.data.reason}` : ""}`);
    break;
  }
}
await Promise.all(pending);
follow.kill();
