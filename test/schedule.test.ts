/**
 * The release schedule as one durable run, through the real binary: a compressed T-7d … T+7d
 * (T-6s … T+4s) with an owner's sign-off before the deploy, a command, a check after it and a
 * sign-off at the end. Killed with SIGKILL in the middle and resumed, every item runs once, in
 * time order, each at or after its time; `gantry schedule RUN` says what is done.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gantry } from "./helpers/run.js";
import { events, type Watched, type Workspace, watch, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

const SCHEDULE = `roles:
  captain: { members: [capt] }
schedule:
  - { at: T-6s, name: Release branch, owner: captain, tasks: ["cut release/v{version}"] }
  - { at: T-3s, name: Pre-deployment prep, run: "echo prep >> schedule.log" }
  - { at: T+1s, name: Intensive monitoring, checks: [health] }
  - { at: T+9s, name: Retrospective, owner: captain, tasks: [write down what we learnt] }
deploy:
`;

/** Signs off as capt whenever the run waits for a sign-off, until it ends. */
async function signOffWhileWaiting(w: Workspace, watched: Watched): Promise<void> {
  let over = false;
  void watched.closed.then(() => (over = true));
  while (!over) {
    await sleep(500);
    if (over) break;
    const list = (await w.gantry(["status", "--json"])).json;
    const run = Array.isArray(list) && list[0] ? (list[0] as { run: string; status: string }) : undefined;
    if (run?.status === "waiting") await w.gantry(["approve", run.run, "--as", "capt"]);
  }
}

describe("the schedule", () => {
  it("runs every item in time order across a SIGKILL and resume", async () => {
    const w = await workspace({ previous: "1.0.0", edit: [["deploy:\n", SCHEDULE]] });
    spaces.push(w);
    const t = new Date(Date.now() + 10_000).toISOString();
    const plan = gantry(["plan", w.runbook, "--env", "local", "--ref", "v3.0.0", "--at", t], w.dir);
    assert.equal(plan.code, 0, plan.stderr);
    assert.doesNotMatch(plan.stdout, /Not executable/);
    assert.match(plan.stdout, /T-6s/);

    const first = watch(w, ["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--at", t, "--json"], {
      // Killed once the first item is signed off and the second has begun waiting for its time.
      GANTRY_FAILPOINT: "schedule:T-3s:2:due",
    });
    const signing = signOffWhileWaiting(w, first);
    const crashed = await first.closed;
    await signing;
    assert.equal(crashed.signal, "SIGKILL", crashed.stderr);

    const resumed = watch(w, ["resume", "--json"]);
    const signingAgain = signOffWhileWaiting(w, resumed);
    const r = await resumed.closed;
    await signingAgain;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released", r.stdout);

    const run = String(r.json?.run);
    const log = await events(w, run);
    const finished = log.filter((e) => e.kind === "step.finished");
    const order = finished.map((e) => (e as { step?: string }).step ?? "");
    const items = order.filter((s) => s.startsWith("schedule:"));
    assert.deepEqual(items, ["schedule:T-6s:1", "schedule:T-3s:2", "schedule:T+1s:1", "schedule:T+9s:2"]);
    assert.ok(order.indexOf("schedule:T-3s:2") < order.indexOf("deploy"), order.join(" "));
    assert.ok(order.indexOf("deploy") < order.indexOf("schedule:T+1s:1"), order.join(" "));
    // Each at or after its time.
    for (const item of items) {
      const due = Date.parse(
        String(
          log.find((e) => e.kind === "schedule.due" && (e as { step?: string }).step === item)?.data.due,
        ),
      );
      const done = Date.parse(
        String((finished.find((e) => (e as { step?: string }).step === item) as { at?: string })?.at),
      );
      assert.ok(done >= due, `${item} finished at ${done}, due ${due}`);
    }
    // Before the deploy, T is the planned time.
    const branchDue = log.find(
      (e) => e.kind === "schedule.due" && (e as { step?: string }).step === "schedule:T-6s:1",
    );
    assert.equal(Date.parse(String(branchDue?.data.due)), Date.parse(t) - 6000);
    // The command ran once, though the run was killed while it waited for it.
    assert.equal(fs.readFileSync(path.join(w.dir, "schedule.log"), "utf8").trim(), "prep");
    assert.equal((await w.providerState()).deploys.filter((d) => d.action === "deploy").length, 1);

    const shown = await w.gantry(["schedule", run, "--json"]);
    const states = (shown.json as unknown as Array<{ title: string; state: string }>).map((i) => [
      i.title,
      i.state,
    ]);
    assert.deepEqual(states, [
      ["T-6s Release branch", "done"],
      ["T-3s Pre-deployment prep", "done"],
      ["T+1s Intensive monitoring", "done"],
      ["T+9s Retrospective", "done"],
    ]);
  });
});
