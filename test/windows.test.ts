/**
 * Deployment windows and freezes as the engine enforces them, through the real binary: a
 * detached release taken by a worker while a freeze holds does not deploy; an override by
 * someone outside the override role is refused, one by a member is recorded and deploys. A
 * foreground release in a closed window is refused, or overridden at the start by a member.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { events, type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

const ROLES: [string, string] = ["deploy:\n", "roles:\n  captain: { members: [capt] }\ndeploy:\n"];
const OVERRIDE: [RegExp, string] = [
  /( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/,
  "$1    override: { roles: [captain] }\n",
];
const FROZEN: [RegExp, string] = [
  /( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/,
  '$1    freezes:\n      - { from: "2000-01-01T00:00:00Z", until: "2100-01-01T00:00:00Z", reason: "year-end freeze" }\n',
];

async function ws(edit: Array<[string | RegExp, string]>) {
  const w = await workspace({ previous: "1.0.0", edit });
  spaces.push(w);
  return w;
}

describe("windows and freezes, enforced by the engine", { concurrency: 2 }, () => {
  it("a worker does not deploy a queued release while a freeze holds; a member's override does", async () => {
    const w = await ws([ROLES, OVERRIDE]);
    const queued = await w.gantry([
      "release",
      w.runbook,
      "--env",
      "local",
      "--ref",
      "v3.0.0",
      "--detach",
      "--json",
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const run = String(queued.json?.run);
    const frozen = await w.gantry([
      "freeze",
      "local",
      "--until",
      "1h",
      "--reason",
      "incident 42 in progress",
    ]);
    assert.equal(frozen.code, 0, frozen.stderr);
    assert.match(
      frozen.stdout,
      /^froze local from \S+ until \S+: incident 42 in progress \(freeze frz-[0-9a-f]+, by tester\)/,
    );

    const worker = w.spawn(["worker"]);
    try {
      const view = await waitFor(w, (v) => v.status === "waiting", run);
      assert.match(
        String((view.waiting as { what: string }).what),
        /override: local is closed for deploys: frozen until .*incident 42 in progress/,
      );
      assert.equal((await w.providerState()).deploys.length, 0, "deployed during a freeze");

      const outsider = await w.gantry(["override", run, "--reason", "me", "--as", "mallory"]);
      assert.equal(outsider.code, 13, outsider.stderr);
      assert.match(outsider.stderr, /mallory may not approve override: .*not in captain \(members: capt\)/);

      const ok = await w.gantry(["override", run, "--reason", "the fix for incident 42", "--as", "capt"]);
      assert.equal(ok.code, 0, ok.stderr);
      const done = await waitFor(w, (v) => v.status !== "waiting" && v.outcome !== undefined, run);
      assert.equal(done.outcome, "released", JSON.stringify(done));
    } finally {
      worker.kill("SIGTERM");
    }
    const log = await events(w, run);
    const start = log.find((e) => e.kind === "step.finished" && e.key.includes("window:start"));
    assert.match(
      String(start?.data.message),
      /closed \(frozen until .*\), overridden by capt \(captain\): the fix for incident 42/,
    );
    const before = log.find((e) => e.kind === "step.finished" && e.key.includes("window:deploy"));
    assert.match(String(before?.data.message), /overridden earlier in this run by capt/);
    assert.equal((await w.providerState()).deploys.filter((d) => d.action === "deploy").length, 1);
    const listed = await w.gantry(["freezes", "--json"]);
    assert.equal((listed.json as unknown as unknown[]).length, 1);
  });

  it("a closed window refuses a release; --override by a non-member is refused, by a member recorded", async () => {
    const w = await ws([ROLES, OVERRIDE, FROZEN]);
    const release = (extra: string[]) =>
      w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json", ...extra]);
    const closed = await release([]);
    assert.equal(closed.code, 11, closed.stderr);
    const outsider = await release(["--override", "please", "--as", "mallory"]);
    assert.equal(outsider.code, 13, outsider.stderr);
    assert.match(
      outsider.stderr,
      /mallory may not override the window of local: not in captain \(members: capt\)/,
    );
    assert.equal((await w.providerState()).deploys.length, 0);

    const r = await release(["--override", "security fix CVE-1", "--as", "capt"]);
    assert.equal(r.code, 0, r.stderr);
    const log = await events(w, String(r.json?.run));
    const start = log.find((e) => e.kind === "step.finished" && e.key.includes("window:start"));
    assert.match(
      String(start?.data.message),
      /closed \(frozen until 2100-01-01T00:00:00Z \(year-end freeze\)\), overridden by capt \(captain\): security fix CVE-1/,
    );
  });
});
