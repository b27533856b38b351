#!/usr/bin/env node
// The people of the seed, for a release run by hand against the stand-in:
//   node standin/people.mjs RUN DATA_DIR
// Until RUN ends, whatever it waits for (a schedule sign-off, a confirmation, a go/no-go or
// other decision, a checklist, the database-lead's approval of the Neon restore, the
// incident's acknowledgement) is answered as the members of the roles the runbook names, with
// `gantry approve RUN --as MEMBER --role ROLE` (or `gantry ack`), as the seeds' contract says:
// on a data folder without identities, each is recorded as not authenticated; never as the
// person who started the release. Every answer approves: the faulty release is caught by
// monitoring, not by a person.
import { execFile } from "node:child_process";
import path from "node:path";

const [run, dataDir] = process.argv.slice(2);
if (!run || !dataDir) {
  process.stderr.write("usage: node standin/people.mjs RUN DATA_DIR\n");
  process.exit(2);
}
const gantry = path.resolve(new URL("../../../../bin/gantry.js", import.meta.url).pathname);
const cli = (...args) =>
  new Promise((resolve) =>
    execFile(
      process.execPath,
      [gantry, ...args, "--data-dir", dataDir],
      { maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr }),
    ),
  );

const answered = new Set();
for (;;) {
  const status = await cli("status", run, "--json");
  if (!status.ok) {
    await new Promise((r) => setTimeout(r, 500));
    continue;
  }
  const view = JSON.parse(status.stdout);
  if (
    view.outcome ||
    ["released", "rolled_back", "aborted", "failed", "gate_failed", "postponed"].includes(view.status)
  ) {
    process.stdout.write(`people: ${run} ended ${view.outcome ?? view.status}\n`);
    break;
  }
  const w = view.waiting;
  if (!w) {
    await new Promise((r) => setTimeout(r, 200));
    continue;
  }
  // Who answers: for each role, members not yet counted, never the operator; one person
  // counts once per step, so roles with fewer members choose first.
  const used = new Set([view.operator, ...(w.counted ?? []).map((c) => c.by ?? c)]);
  const picks = [];
  const roles = (w.approvers ?? [])
    .slice()
    .sort((a, b) => (view.roles[a.role]?.length ?? 0) - (view.roles[b.role]?.length ?? 0));
  for (const { role, count } of roles) {
    const already = (w.counted ?? []).filter((c) => c.role === role).length;
    for (let i = already; i < count; i++) {
      const member = (view.roles[role] ?? []).find((m) => !used.has(m));
      if (!member) break;
      used.add(member);
      picks.push({ role, member });
    }
  }
  if (w.form === "ack" && picks.length === 0)
    picks.push({ role: undefined, member: view.roles["on-call"]?.[0] ?? "on-call" });
  const key = `${w.step}:${JSON.stringify(w.counted ?? [])}`;
  if (picks.length === 0 || answered.has(key)) {
    await new Promise((r) => setTimeout(r, 200));
    continue;
  }
  answered.add(key);
  await Promise.all(
    picks.map(async ({ role, member }) => {
      const args =
        w.form === "ack"
          ? ["ack", run, "--as", member]
          : ["approve", run, "--as", member, ...(role ? ["--role", role] : [])];
      const r = await cli(...args);
      process.stdout.write(
        `people: ${w.what}: ${member}${role ? ` (${role})` : ""} → ${(r.ok ? r.stdout : r.stderr).trim().split("\n")[0]}\n`,
      );
    }),
  );
}
