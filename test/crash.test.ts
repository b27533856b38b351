/**
 * Crash injection: the quickstart release is killed with SIGKILL at every step boundary and in
 * the middle of the deploy, a wait, the monitoring and the rollback, then continued with
 * `gantry resume`. Each time the run must end with the right outcome, and nothing may have
 * been done twice: no gate ran again, no second deploy, no second rollback.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Workspace, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

/** Where to kill: an event key of the run's log, optionally `@ms` later. */
const V2_POINTS = [
  "started", // after the run resolved what is serving
  "gate:syntax:finished", // gate done, not yet checkpointed
  // The parallel gate `syntax` may still be running here: if it had not passed, it runs again.
  "gate:version-known:finished",
  "deploy:started@150", // mid-deploy: the new version is starting
  "deploy:finished", // step boundary
  "smoke:health:finished",
  "smoke:hello:finished",
  "monitor:started@600", // mid-wait between samples
  "m:2:error_rate", // mid-monitor
  "rollback:started", // the decision is recorded, nothing restored yet
  "rollback:1:started@100", // mid-rollback
  "rollback:1:finished",
];

async function crashThenResume(ref: string, point: string, pauseMs = 0) {
  // v2 is caught a few seconds into monitoring; a long window keeps it from ending unobserved
  // while a slow machine restarts gantry after the kill.
  const edit: Array<[string, string]> =
    ref === "v2.0.0" ? [["checkpoints: [T+2s, T+8s]", "checkpoints: [T+2s, T+30s]"]] : [];
  const w = await workspace({ previous: "1.0.0", edit });
  spaces.push(w);
  const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json"], {
    GANTRY_FAILPOINT: point,
  });
  assert.equal(
    crashed.signal,
    "SIGKILL",
    `expected a kill at ${point}; got ${crashed.code}: ${crashed.stderr}`,
  );
  if (pauseMs) await sleep(pauseMs);
  const resumed = await w.gantry(["resume", "--json"]);
  return { w, resumed };
}

describe("crash at every step boundary and mid-step, then resume", { concurrency: 3 }, () => {
  for (const point of V2_POINTS) {
    it(`v2 killed at ${point}: resumes to rolled_back, nothing done twice`, async () => {
      const { w, resumed } = await crashThenResume("v2.0.0", point);
      assert.equal(resumed.code, 5, resumed.stderr);
      assert.equal(resumed.json?.outcome, "rolled_back", resumed.stdout);
      assert.match(String(resumed.json?.reason), /rolled back to 1\.0\.0/);
      if (point === "gate:version-known:finished") {
        // `syntax` may or may not have finished when the process died; if not, it runs again.
        assert.ok(w.gateRuns() <= 2, `the gate ran ${w.gateRuns()} times`);
      } else {
        assert.equal(w.gateRuns(), 1, "a gate that had passed ran again");
      }
      const state = await w.providerState();
      const deploys = state.deploys;
      assert.equal(deploys.filter((d) => d.action === "deploy").length, 1, JSON.stringify(deploys));
      assert.equal(deploys.filter((d) => d.action === "rollback").length, 1, JSON.stringify(deploys));
      assert.equal(state.lastKnownGood, "1.0.0");
    });
  }

  it("v3 killed mid-wait: the monitoring keeps its original deadline and the run is released", async () => {
    const { w, resumed } = await crashThenResume("v3.0.0", "monitor:started@300", 4000);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json?.outcome, "released");
    const log = await w.gantry(["log", String(resumed.json?.run), "--json"]);
    const events = JSON.parse(log.stdout) as Array<{
      kind: string;
      at: string;
      data: Record<string, string>;
    }>;
    const monitor = events.find((e) => e.kind === "monitor.started")!;
    const back = events.find((e) => e.kind === "run.resumed")!;
    const finished = events.find((e) => e.kind === "run.finished")!;
    const end = Date.parse(monitor.data.endsAt!);
    assert.ok(Date.parse(finished.at) >= end, "finished before the last checkpoint");
    // Timers restarted at the resume would end a whole window (T+8s) after it; kept ones end
    // at the original deadline, or once the fresh samples a gap calls for are taken.
    const restarted = Date.parse(back.at) + (end - Date.parse(monitor.data.t!));
    assert.ok(Date.parse(finished.at) < restarted, "the monitoring window started again at the resume");
    const gap = events.find((e) => e.kind === "monitor.gap");
    assert.ok(gap, "the 4 s without samples is not recorded");
    assert.equal((await w.providerState()).deploys.length, 1);
  });
});
