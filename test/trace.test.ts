/**
 * The golden trace: for quickstart v1, v2 and v3, and for the full runbook (captures, a
 * decision, a migration, a rollback procedure), the sequence of durable step names DBOS
 * recorded and of the run's event keys. A change to either changes what a run started by an
 * earlier Gantry would replay, so it must be deliberate: this test fails until the trace file
 * is written anew (GANTRY_WRITE_TRACE=1 npm test) and, where the sequence changed, until
 * ENGINE_VERSION (src/engine/version.ts) moves with it.
 *
 * Timing-dependent parts are folded: a run of monitoring samples (their count depends on the
 * machine's speed) is one `sample…` entry, output lines and ids are left out.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENGINE_VERSION } from "../src/engine/version.js";
import { openDatabase } from "../src/store/database.js";
import { FULL_MIGRATIONS, fullWorkspace } from "./helpers/full.js";
import { ROOT } from "./helpers/paths.js";
import { type PostgresServer, startPostgres } from "./helpers/postgres-server.js";
import { createDatabase } from "./helpers/sql.js";
import { events, type Workspace, waitFor, watch, workspace } from "./helpers/workspace.js";

const TRACE = path.join(ROOT, "test/fixtures/trace/golden.json");
const spaces: Workspace[] = [];
let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  await server?.stop();
});

/**
 * Folds what depends on timing: sample numbers, ids, output lines, repeated monitoring
 * entries (in the event log, where samples fall between a person's answers, they are left
 * out), and the order in which gates running together finish.
 */
export function fold(names: string[], samples: "fold" | "drop"): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (/:out:|^DBOS\.|^resumed:|^sent:|^control:/.test(name)) continue;
    const sample = /^(sample:\d+|m:\d+:|v:\d+:|gap:\d+|pause:\d+)/.test(name);
    if (sample && (samples === "drop" || out.at(-1) === "sample…")) continue;
    out.push(sample ? "sample…" : name);
  }
  // Gates of one parallel group start and end in any order.
  for (let i = 0; i < out.length; i++) {
    let j = i;
    while (j < out.length && /^gate:/.test(out[j]!)) j++;
    if (j - i > 1) out.splice(i, j - i, ...out.slice(i, j).sort());
  }
  return out;
}

async function trace(w: Workspace, run: string): Promise<{ steps: string[]; events: string[] }> {
  const db = await openDatabase({ dataDir: w.dataDir });
  try {
    const rows = await db.pool.query<{ function_name: string }>(
      "SELECT function_name FROM dbos.operation_outputs WHERE workflow_uuid = $1 ORDER BY function_id",
      [run],
    );
    return {
      steps: fold(
        rows.rows.map((r) => r.function_name),
        "fold",
      ),
      events: fold(
        (await events(w, run)).map((e) => e.key),
        "drop",
      ),
    };
  } finally {
    await db.close();
  }
}

describe("the golden trace of durable steps and events", () => {
  it("is the recorded one, for the quickstart's three releases and the full runbook", async () => {
    const traces: Record<string, { steps: string[]; events: string[] }> = {};
    const w = await workspace({ previous: "1.0.0" });
    spaces.push(w);
    for (const [ref, outcome] of [
      ["v1.0.0", "released"],
      ["v2.0.0", "rolled_back"],
      ["v3.0.0", "released"],
    ] as const) {
      const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json"]);
      assert.equal(r.json?.outcome, outcome, r.stderr);
      traces[`quickstart ${ref}`] = await trace(w, String(r.json?.run));
    }
    const url = await createDatabase(server.url, "trace");
    const full = await fullWorkspace();
    spaces.push(full);
    const env = { APP_DATABASE_URL: url };
    const release = watch(
      full,
      ["release", full.runbook, "--env", "local", "--ref", "v1.0.0", "--json"],
      env,
    );
    const view = await waitFor(full, (v) => Boolean(v.waiting), undefined, release.closed);
    // Another process follows the run's events as they are written (LISTEN/NOTIFY).
    const follower = watch(full, ["log", String(view.id), "--follow", "--json"], env);
    assert.equal((await full.gantry(["approve", String(view.id), "--as", "capt"])).code, 0);
    const r = await release.closed;
    assert.equal(r.json?.outcome, "released", r.stderr);
    const run = String(r.json?.run);
    traces["full v1.0.0"] = await trace(full, run);
    assert.ok(Object.keys(FULL_MIGRATIONS).length > 0);

    const followed = await follower.closed;
    assert.equal(followed.code, 0, followed.stderr);
    const lines = followed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number; key: string; kind: string; step?: string });
    const logged = await events(full, run);
    assert.deepEqual(
      lines.map((e) => e.key),
      logged.map((e) => e.key),
      "the follower saw every event, in order",
    );
    assert.equal(lines.at(-1)?.kind, "run.finished");
    for (const [i, e] of lines.entries()) {
      if (e.kind !== "step.finished" || !e.step) continue;
      const start = lines.findIndex((x) => x.kind === "step.started" && x.step === e.step);
      assert.ok(start >= 0 && start < i, `${e.step} finished before it started`);
    }

    // The token the login captured is recorded sealed, and nowhere in clear.
    const login = await fetch(`http://127.0.0.1:${full.port}/api/login`, { method: "POST" });
    const token = String(((await login.json()) as { token: string }).token);
    assert.match(token, /^t-/);
    const finishedLogin = logged.find(
      (e) => e.kind === "step.finished" && (e as { step?: string }).step === "smoke:login",
    );
    assert.match(String((finishedLogin?.data.facts as { sealedCaptures?: string })?.sealedCaptures), /^v1\./);
    assert.equal(fs.statSync(path.join(full.dataDir, "secret.key")).mode & 0o777, 0o600);
    const db = await openDatabase({ dataDir: full.dataDir });
    try {
      const tables = await db.pool.query<{ s: string; t: string }>(
        "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema IN ('gantry', 'dbos') AND table_type = 'BASE TABLE'",
      );
      assert.ok(tables.rows.length >= 5, "the dump found too few tables to mean anything");
      for (const { s, t } of tables.rows) {
        const rows = await db.pool.query<{ row: string }>(`SELECT t::text AS row FROM "${s}"."${t}" t`);
        for (const { row } of rows.rows)
          assert.ok(!row.includes(token), `${s}.${t} holds the captured token in clear`);
      }
    } finally {
      await db.close();
    }

    if (process.env.GANTRY_WRITE_TRACE) {
      fs.mkdirSync(path.dirname(TRACE), { recursive: true });
      fs.writeFileSync(TRACE, `${JSON.stringify({ engine: ENGINE_VERSION, traces }, null, 2)}\n`);
    }
    const golden = JSON.parse(fs.readFileSync(TRACE, "utf8")) as { engine: string; traces: typeof traces };
    assert.deepEqual(
      traces,
      golden.traces,
      "the durable sequence changed: if that is deliberate, write the trace anew (GANTRY_WRITE_TRACE=1) and move ENGINE_VERSION when runs of the previous Gantry would replay differently",
    );
    assert.equal(golden.engine, ENGINE_VERSION, "the trace file was written for another ENGINE_VERSION");
  });
});
