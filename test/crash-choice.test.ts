/**
 * The crash suite for a rollback that chooses: gantry is killed with SIGKILL right after the
 * choice is recorded (a person's pick), and right after the chosen option's step finished (a
 * condition's choice). Resumed, each run takes the same option and runs its step once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { choiceWorkspaces, choosing, chosenLog } from "./helpers/rollback-choice.js";
import { events, type Workspace, waitFor, watch } from "./helpers/workspace.js";

const ws = choiceWorkspaces();

const killed = (r: { signal: NodeJS.Signals | null; code: number | null; stderr: string }, point: string) =>
  assert.equal(r.signal, "SIGKILL", `expected a kill at ${point}; got ${r.code}: ${r.stderr}`);

async function resumedOnce(w: Workspace, option: string) {
  const r = await w.gantry(["resume", "--json"]);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.json?.outcome, "rolled_back");
  assert.deepEqual(chosenLog(w), [option], "the option's step ran twice, or another option's ran");
  const log = await events(w, String(r.json?.run));
  const chosen = log.filter((e) => e.kind === "rollback.chosen");
  assert.deepEqual(
    chosen.map((e) => e.data.option),
    [option],
  );
  assert.equal(log.filter((e) => e.key === `rollback:db:${option}:mark:finished`).length, 1);
  return log;
}

describe("a rollback choice across a crash", { concurrency: 2 }, () => {
  it("killed right after a person's pick is recorded: resumed, the same option, its step once", async () => {
    const w = await ws(choosing("        by: dba\n", ""));
    const point = "rollback:db:chosen";
    const child = watch(w, ["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      GANTRY_FAILPOINT: point,
    }).closed;
    const view = await waitFor(
      w,
      (v) => (v.waiting as { form?: string } | undefined)?.form === "choice",
      undefined,
      child,
    );
    const pick = await w.gantry(["approve", String(view.id), "--as", "dana", "--choice", "fast"]);
    assert.equal(pick.code, 0, pick.stderr);
    killed(await child, point);
    assert.deepEqual(chosenLog(w), [], "the option's step ran before the crash point");
    const log = await resumedOnce(w, "fast");
    assert.equal(log.find((e) => e.kind === "rollback.chosen")?.data.person, "dana");
  });

  it("killed right after the chosen option's step finished: resumed, that step is not run again", async () => {
    const w = await ws(choosing("", "readiness == not_ready"));
    const point = "rollback:db:fast:mark:finished";
    const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      GANTRY_FAILPOINT: point,
    });
    killed(crashed, point);
    assert.deepEqual(chosenLog(w), ["fast"]);
    await resumedOnce(w, "fast");
  });
});
