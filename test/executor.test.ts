/**
 * One executor per run, through the real binary on a real embedded Postgres: Postgres
 * crashing (`pg_ctl stop -m immediate`) and coming back under a running release, a release
 * frozen past the executor lock's staleness while another process takes its run over, verbs
 * run while the database is down, a database that never comes back, SIGTERM during an
 * outage, and `gantry resume` on queued runs. Timeouts are hang guards only; no timing is
 * asserted.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runningPort, startServer, stopServer } from "../src/store/embedded.js";
import { STALE_MS } from "../src/store/executor.js";
import { events, pgDirOf, type Workspace, waitFor, watch, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

async function ws(checkpoints = "[T+2s, T+25s]"): Promise<Workspace> {
  const w = await workspace({
    previous: "1.0.0",
    edit: [["checkpoints: [T+2s, T+8s]", `checkpoints: ${checkpoints}`]],
  });
  spaces.push(w);
  return w;
}

const releaseArgs = (w: Workspace) => ["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"];

/** Postgres dies the way a crash kills it, and comes back on its port. */
async function crashPostgres(w: Workspace, downMs = 0): Promise<void> {
  const pgDir = pgDirOf(w);
  const port = runningPort(pgDir);
  assert.ok(port, "the embedded Postgres is not running");
  await stopServer(pgDir, "immediate");
  assert.equal(runningPort(pgDir), undefined, "Postgres did not stop");
  if (downMs) await sleep(downMs);
  await startServer(pgDir, port);
}

/** Starts a release, waits until it monitors, then stops its Postgres at once (`-m immediate`). */
async function monitoringThenDatabaseDown(w: Workspace) {
  const release = watch(w, releaseArgs(w));
  const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, release.closed);
  const pgDir = pgDirOf(w);
  const port = runningPort(pgDir)!;
  await stopServer(pgDir, "immediate");
  return { release, run: String(view.id), pgDir, port };
}

async function assertReleasedOnce(w: Workspace, log: Array<{ kind: string; data: Record<string, unknown> }>) {
  const finished = log.filter((e) => e.kind === "run.finished");
  assert.equal(finished.length, 1, JSON.stringify(finished));
  assert.equal(finished[0]!.data.outcome, "released", JSON.stringify(finished[0]));
  const state = await w.providerState();
  const deploys = state.deploys;
  assert.equal(deploys.filter((d) => d.action === "deploy").length, 1, JSON.stringify(deploys));
  assert.equal(deploys.filter((d) => d.action === "rollback").length, 0, JSON.stringify(deploys));
  assert.equal(state.lastKnownGood, "3.0.0");
}

describe("one executor per run", { concurrency: 3 }, () => {
  it("Postgres crashes mid-monitoring: the release takes its lock back, a concurrent resume is refused, the run is released once", async () => {
    const w = await ws();
    const release = watch(w, releaseArgs(w));
    const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, release.closed);
    const run = String(view.id);
    await crashPostgres(w, 500);
    const resume = await w.gantry(["resume", "--json"]);
    assert.equal(resume.code, 8, `resume was let in:\n${resume.stdout}\n${resume.stderr}`);
    assert.match(resume.stderr, new RegExp(`in use by gantry release \\(pid ${release.pid}\\b`));
    const status = await w.gantry(["status", run, "--json"]);
    assert.notEqual(status.json?.status, "interrupted", "status says nobody runs the release");
    const r = await release.closed;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released", r.stdout);
    assert.doesNotMatch(r.stderr, /no longer owned|internal error/);
    const log = await events(w, run);
    assert.equal(log.filter((e) => e.kind === "executor.lost").length, 0);
    await assertReleasedOnce(w, log);
    assert.equal((await w.gantry(["status", run, "--json"])).json?.status, "released");
  });

  it("a release frozen through a restart: refused resume while its lock is fresh; once stale, one resume takes over and the release stops, saying so", async () => {
    const w = await ws();
    const release = watch(w, releaseArgs(w));
    const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, release.closed);
    const run = String(view.id);
    release.child.kill("SIGSTOP");
    const frozenAt = Date.now();
    try {
      await crashPostgres(w);
      // The lock is free now, but the frozen release's heartbeat is fresh: it is not replaced.
      const early = await w.gantry(["resume", "--json"]);
      assert.equal(early.code, 8, `resume was let in:\n${early.stdout}\n${early.stderr}`);
      assert.match(early.stderr, /taking its executor lock back/);
      assert.notEqual((await w.gantry(["status", run, "--json"])).json?.status, "interrupted");
      await sleep(Math.max(0, frozenAt + STALE_MS + 1500 - Date.now()));
      const resume = watch(w, ["resume", "--json"]);
      for (let i = 0; i < 150; i++) {
        if ((await events(w, run)).some((e) => e.kind === "run.resumed")) break;
        if (resume.child.exitCode !== null) break;
        await sleep(200);
      }
      release.child.kill("SIGCONT");
      const first = await release.closed;
      assert.equal(first.code, 8, first.stderr);
      assert.match(first.stderr, new RegExp(`no longer the executor of run ${run}`));
      assert.match(first.stderr, new RegExp(`gantry resume \\(pid ${resume.pid}\\b`));
      assert.equal(first.stdout, "", "the replaced release printed an outcome");
      const second = await resume.closed;
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.json?.outcome, "released", second.stdout);
      const log = await events(w, run);
      const lost = log.filter((e) => e.kind === "executor.lost");
      assert.equal(lost.length, 1, JSON.stringify(log.map((e) => e.kind)));
      assert.equal(lost[0]!.data.pid, release.pid);
      assert.equal((lost[0]!.data.holder as { pid: number }).pid, resume.pid);
      await assertReleasedOnce(w, log);
    } finally {
      release.child.kill("SIGCONT");
    }
  });

  it("while the database is down, status and log start no second server and say it is unreachable; the release goes on after", async () => {
    const w = await ws();
    const { release, run, pgDir, port } = await monitoringThenDatabaseDown(w);
    for (const args of [["status"], ["log", run]]) {
      const r = await w.gantry(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /database is unreachable: the embedded Postgres in .* is not running/);
      assert.match(r.stderr, new RegExp(`gantry release \\(pid ${release.pid}\\) uses it`));
      assert.match(r.stderr, /gantry resume/);
      assert.equal(runningPort(pgDir), undefined, `${args[0]} started a second server`);
    }
    await startServer(pgDir, port);
    const r = await release.closed;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released");
    await assertReleasedOnce(w, await events(w, run));
  });

  it("a database that stays away past the retry budget: the release stops by itself, its run resumable", async () => {
    const w = await ws();
    const release = watch(w, releaseArgs(w), { GANTRY_DB_RETRY_SECONDS: "3" });
    const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, release.closed);
    const run = String(view.id);
    await stopServer(pgDirOf(w), "immediate");
    const r = await release.closed;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /has been unreachable for over 3s/);
    assert.match(r.stderr, new RegExp(`gantry resume ${run}`));
    assert.equal(r.stdout, "", "an outcome was printed");
    // Nobody uses the server now: the next verb starts it again.
    const status = await w.gantry(["status", run, "--json"]);
    assert.equal(status.json?.status, "interrupted", status.stderr);
    const resumed = await w.gantry(["resume", "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json?.outcome, "released");
    await assertReleasedOnce(w, await events(w, run));
  });

  it("SIGTERM while the database is down: the release exits, its run resumable", async () => {
    const w = await ws();
    const { release, run, pgDir, port } = await monitoringThenDatabaseDown(w);
    await sleep(500);
    release.child.kill("SIGTERM");
    const r = await release.closed;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted\. The run is saved where it stood/);
    await startServer(pgDir, port);
    const resumed = await w.gantry(["resume", "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json?.outcome, "released");
    await assertReleasedOnce(w, await events(w, run));
  });

  it("gantry resume on queued runs says at once that a worker runs them, and resumes a run a stopped worker had taken", async () => {
    const w = await ws("[T+2s, T+8s]");
    const q = await w.gantry([...releaseArgs(w), "--detach"]);
    assert.equal(q.code, 0, q.stderr);
    const run = String(q.json!.run);
    for (const args of [["resume", run], ["resume"]]) {
      const r = await w.gantry(args, {}, 60_000);
      assert.equal(r.signal, null, `gantry ${args.join(" ")} hung`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`run ${run} is queued, not interrupted`));
      assert.match(r.stdout, /gantry worker/);
    }
    const worker = watch(w, ["worker"]);
    await waitFor(w, (v) => v.status === "running" && v.monitor !== undefined, run);
    worker.child.kill("SIGTERM");
    assert.equal((await worker.closed).code, 130);
    assert.equal((await w.gantry(["status", run, "--json"])).json?.status, "interrupted");
    const resumed = await w.gantry(["resume", run, "--json"], {}, 90_000);
    assert.equal(resumed.signal, null, "gantry resume hung on the run the worker had taken");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json?.outcome, "released");
    const log = await events(w, run);
    const stops = log.filter((e) => e.kind === "run.interrupted");
    assert.equal(stops.length, 1);
    assert.ok(Array.isArray(stops[0]!.data.stopped), JSON.stringify(stops[0]));
    await assertReleasedOnce(w, log);
  });
});
