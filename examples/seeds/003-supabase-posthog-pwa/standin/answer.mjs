#!/usr/bin/env node
/**
 * For running a release by hand: answers what RUN waits for (confirmations, the go/no-go
 * decision, checklists, the schedule's sign-off) as the members of the roles the runbook names,
 * as the seed run does: `gantry approve RUN --as MEMBER --role ROLE`, never as the one who
 * started the release. Polls `gantry status RUN --json` until the run has ended.
 *   node standin/answer.mjs RUN --data-dir DIR
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
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
const cli = (args) => execFileSync(process.execPath, [gantry, ...args, ...rest], { encoding: "utf8" });
const answered = new Set();

for (;;) {
  let view;
  try {
    view = JSON.parse(cli(["status", run, "--json"]));
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 500));
    continue;
  }
  if (!["queued", "running", "waiting"].includes(view.status)) {
    console.log(`${run}: ${view.status}${view.reason ? ` — ${view.reason}` : ""}`);
    break;
  }
  const w = view.waiting;
  if (w) {
    for (const { role, count } of w.approvers) {
      const members = (view.roles[role] ?? []).filter((m) => m !== view.operator && !w.approvals.includes(m));
      for (const member of members.slice(0, count)) {
        const key = `${w.step}:${member}`;
        if (answered.has(key)) continue;
        answered.add(key);
        try {
          cli([
            "approve",
            run,
            "--as",
            member,
            "--role",
            role,
            "--comment",
            "stand-in: answered as the role's member",
          ]);
          console.log(`${w.step}: approved as ${member} (${role})`);
        } catch (err) {
          console.error(
            `${w.step}: approve as ${member} failed: ${String(err.stderr ?? err.message).trim()}`,
          );
        }
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
