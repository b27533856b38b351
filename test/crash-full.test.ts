/**
 * The crash suite on the full runbook (captures, a migration, a decision, a rollback
 * procedure): gantry is killed with SIGKILL in the middle of its migration and after it, before
 * the smoke test that sends a captured token, during the decision wait and during monitoring,
 * then continued with `gantry resume`. Each run must end as the uncrashed run does, with
 * nothing done twice: one deploy, one gate run, the migration applied once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fullWorkspace } from "./helpers/full.js";
import { type PostgresServer, startPostgres } from "./helpers/postgres-server.js";
import { createDatabase, sql } from "./helpers/sql.js";
import { events, type Watched, type Workspace, watch } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
let server: PostgresServer;
let n = 0;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  await server?.stop();
});

/** Approves whenever the run waits for a person, until it ends (looking every second). */
async function approveWhileWaiting(w: Workspace, watched: Watched): Promise<void> {
  let over = false;
  void watched.closed.then(() => (over = true));
  while (!over) {
    await sleep(1000);
    if (over) break;
    const list = (await w.gantry(["status", "--json"])).json;
    const run = Array.isArray(list) && list[0] ? (list[0] as { run: string; status: string }) : undefined;
    if (run?.status === "waiting") await w.gantry(["approve", run.run, "--as", "capt"]);
  }
}

async function release(point?: string, pauseMs = 0) {
  const url = await createDatabase(server.url, `crash${++n}`);
  const w = await fullWorkspace();
  spaces.push(w);
  const env = { APP_DATABASE_URL: url };
  const first = watch(w, ["release", w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"], {
    ...env,
    ...(point ? { GANTRY_FAILPOINT: point } : {}),
  });
  const approving = approveWhileWaiting(w, first);
  const crashed = await first.closed;
  await approving;
  if (!point) return { w, url, result: crashed };
  assert.equal(
    crashed.signal,
    "SIGKILL",
    `expected a kill at ${point}; got ${crashed.code}: ${crashed.stderr}`,
  );
  if (pauseMs) await sleep(pauseMs);
  const resumed = watch(w, ["resume", "--json"], env);
  const approvingAgain = approveWhileWaiting(w, resumed);
  const result = await resumed.closed;
  await approvingAgain;
  return { w, url, result };
}

async function nothingTwice(w: Workspace, url: string, point?: string) {
  const deploys = (await w.providerState()).deploys;
  assert.equal(deploys.filter((d) => d.action === "deploy").length, 1, JSON.stringify(deploys));
  // Killed when one gate of the parallel pair ended, the other may not have: it runs again.
  if (point?.startsWith("gate:")) assert.ok(w.gateRuns() <= 2, `the gate ran ${w.gateRuns()} times`);
  else assert.equal(w.gateRuns(), 1, "a gate that had passed ran again");
  const ledger = await sql(url, "SELECT count(*)::int AS n FROM gantry_migrations");
  assert.equal(ledger.rows[0].n, 1, "the migration was recorded once");
}

/**
 * The points this runbook has and the quickstart's crash suite (test/crash.test.ts, every step
 * boundary) does not: mid-migration and after it, the smoke test that sends a captured token,
 * the wait for a person, the middle of monitoring.
 */
const POINTS = [
  "migrate:expand:started@50",
  "migrate:expand:finished",
  "smoke:me:started", // the captured token must survive the crash
  "decision:go-on:waiting@500", // mid-wait for a person
  "m:4:error_rate", // mid-monitoring
];

describe("the full runbook killed anywhere, then resumed", { concurrency: 2 }, () => {
  it("uncrashed: released, every step once", async () => {
    const { w, url, result } = await release();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json?.outcome, "released");
    await nothingTwice(w, url);
  });

  for (const point of POINTS) {
    it(`killed at ${point}: released as uncrashed, nothing done twice`, async () => {
      const { w, url, result } = await release(point);
      assert.equal(result.json?.outcome, "released", `${result.stdout}\n${result.stderr}`);
      await nothingTwice(w, url, point);
    });
  }

  it("killed in monitoring and down for 4 s: the gap is recorded and fresh samples are taken before a checkpoint passes", async () => {
    const { w, result } = await release("checkpoint:T+2s:finished@300", 4000);
    assert.equal(result.json?.outcome, "released", result.stderr);
    assert.match(String(result.json?.reason), /monitoring was interrupted for \d+ s/);
    const log = await events(w, String(result.json?.run));
    const gap = log.find((e) => e.kind === "monitor.gap");
    assert.ok(gap, "no monitor.gap event");
    assert.ok(Number(gap.data.ms) >= 3000, `gap of ${gap.data.ms} ms`);
    const passed = log.filter(
      (e) => e.kind === "step.finished" && String(e.data.message).includes("fresh samples"),
    );
    assert.ok(passed.length > 0, "no checkpoint says it passed after fresh samples");
  });
});

describe("monitoring while a person decides", () => {
  it("a rule that breaches while the decision waits rolls back during the wait", async () => {
    const url = await createDatabase(server.url, "breach");
    const w = await fullWorkspace();
    spaces.push(w);
    // The defect shows 8 s after the service starts, so that it breaches well after the
    // decision (at T+2s) waits, however slow the smoke tests are on a busy machine.
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      APP_DATABASE_URL: url,
      DEFECT_AFTER_MS: "8000",
    });
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    assert.match(String(r.json?.reason), /^errors: error_rate .* > 0\.05 for|readiness/);
    const log = await events(w, String(r.json?.run));
    const at = (kind: string, step?: string) =>
      log.findIndex((e) => e.kind === kind && (step === undefined || (e as { step?: string }).step === step));
    const waiting = at("approval.waiting", "decision:go-on");
    assert.ok(waiting >= 0, "the decision never waited");
    assert.ok(at("rollback.started") > waiting, "rolled back before the decision waited");
    assert.equal(at("step.finished", "decision:go-on"), -1, "the decision ended before the rollback");
    const down = log.find(
      (e) => e.kind === "step.finished" && (e as { step?: string }).step === "rollback:schema-back",
    );
    assert.equal(down?.data.status, "passed", JSON.stringify(down));
    assert.equal(
      (await sql(url, "SELECT to_regclass('notes') AS t")).rows[0].t,
      null,
      "the down script did not run",
    );
  });
});
