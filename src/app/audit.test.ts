/**
 * Verifying the audit trail on a real Postgres: each way a record can be tampered with
 * directly in gantry.events (changed, removed, inserted — with or without a hash made to
 * look right), rows of an earlier Gantry, and anchors (truncation, a chain recomputed).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { createDatabase } from "../../test/helpers/sql.js";
import { chainHash, chainRows } from "../store/chain.js";
import { endPool, migrate } from "../store/database.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import { EventStore } from "../store/events.js";
import { anchorAudit, type LogAudit, parseAnchor, verifyAudit } from "./audit.js";
import { Refusal } from "./refusal.js";

let server: PostgresServer;
const pools: pg.Pool[] = [];
let databases = 0;

before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const p of pools) await endPool(p, 2000);
  await server?.stop();
});

interface Db {
  pool: pg.Pool;
  store: EventStore;
  /** Verifies one log. */
  verify(run: string): Promise<LogAudit>;
  /** The seq of each record of a log, by key. */
  seqs(run: string): Promise<Record<string, number>>;
}

/** A database of its own with a log `run` of `count` records (keys e1…eN). */
async function fresh(run = "run", count = 5): Promise<Db> {
  const url = await createDatabase(server.url, `audit_${++databases}`);
  const p = new pg.Pool({ connectionString: url, max: 4 });
  p.on("error", () => undefined);
  pools.push(p);
  await migrate(p);
  const store = new EventStore(p);
  for (let i = 1; i <= count; i++) {
    await store.append(run, {
      key: `e${i}`,
      kind: "step.progress",
      step: "gate:test",
      data: { message: `m${i}` },
    });
  }
  return {
    pool: p,
    store,
    verify: async (log) => (await verifyAudit({ store }, { run: log })).logs[0]!,
    seqs: async (log) => {
      const r = await p.query<{ key: string; seq: string }>(
        "SELECT key, seq FROM gantry.events WHERE run_id = $1",
        [log],
      );
      return Object.fromEntries(r.rows.map((row) => [row.key, Number(row.seq)]));
    },
  };
}

describe("verifying a log", () => {
  it("finds it intact as written, with its head", async () => {
    const db = await fresh();
    const audit = await db.verify("run");
    assert.equal(audit.problem, undefined);
    assert.equal(audit.records, 5);
    assert.equal(audit.notChained, 0);
    const last = await db.pool.query<{ hash: string; seq: string }>(
      "SELECT hash, seq FROM gantry.events WHERE run_id = 'run' ORDER BY seq DESC LIMIT 1",
    );
    assert.deepEqual(audit.head, { hash: last.rows[0]!.hash, seq: Number(last.rows[0]!.seq), position: 5 });
  });

  it("names a record whose content was changed, whichever field, as changed; put back, the log is intact", async () => {
    const db = await fresh();
    const seq = (await db.seqs("run")).e3!;
    for (const change of [
      `data = '{"message": "m3 edited"}'`,
      "kind = 'output'",
      "step = NULL",
      "at = at + interval '1 microsecond'",
      "key = 'e3-renamed'",
    ]) {
      const saved = await db.pool.query(
        `SELECT key, at::text AS at, kind, step, data FROM gantry.events WHERE seq = ${seq}`,
      );
      await db.pool.query(`UPDATE gantry.events SET ${change} WHERE seq = ${seq}`);
      const audit = await db.verify("run");
      assert.equal(audit.problem?.type, "changed", change);
      assert.equal(audit.problem?.record?.seq, seq, change);
      assert.equal(audit.problem?.record?.position, 3);
      assert.equal(audit.records, 5, "the records after a problem are still counted");
      const s = saved.rows[0]!;
      await db.pool.query(
        "UPDATE gantry.events SET key = $2, at = $3::timestamptz, kind = $4, step = $5, data = $6 WHERE seq = $1",
        [seq, s.key, s.at, s.kind, s.step, s.data],
      );
    }
    assert.equal(
      (await db.verify("run")).problem,
      undefined,
      "put back as it was, the record matches its hash again",
    );
  });

  it("names the record after a gap as having its predecessor removed, and where the gap is", async () => {
    const db = await fresh();
    const seqs = await db.seqs("run");
    await db.pool.query(`DELETE FROM gantry.events WHERE seq = ${seqs.e3}`);
    const audit = await db.verify("run");
    assert.equal(audit.problem?.type, "removed");
    assert.equal(audit.problem?.record?.key, "e4");
    assert.equal(audit.problem?.record?.position, 3);
    assert.equal(audit.head, null, "a broken chain has no head");
    assert.match(
      audit.problem!.message,
      new RegExp(`at position 3 between seq ${seqs.e2} \\(e2\\) and this one, is no longer in the log`),
    );

    const first = await fresh();
    await first.pool.query(`DELETE FROM gantry.events WHERE seq = ${(await first.seqs("run")).e1}`);
    const head = await first.verify("run");
    assert.equal(head.problem?.type, "removed");
    assert.equal(head.problem?.record?.key, "e2");
    assert.match(head.problem!.message, /the records before it are missing/);
  });

  it("names a record inserted directly: without a hash, with a made-up one, or with one computed to fit", async () => {
    // At the end, without a hash.
    const db = await fresh();
    await db.pool.query(
      `INSERT INTO gantry.events (run_id, key, kind, data) VALUES ('run', 'forged', 'approval', '{"by":"mallory"}')`,
    );
    let audit = await db.verify("run");
    assert.equal(audit.problem?.type, "inserted");
    assert.equal(audit.problem?.record?.key, "forged");
    assert.match(audit.problem!.message, /no hash: Gantry did not write it/);
    // Gantry's next record is chained past it.
    await db.store.append("run", { key: "e6", kind: "step.progress", data: { message: "after" } });
    audit = await db.verify("run");
    assert.equal(audit.problem?.record?.key, "forged");

    // In the middle, in the seq a duplicate append used up, with a made-up hash.
    const mid = await fresh("run", 2);
    await mid.store.append("run", { key: "e2", kind: "step.progress", data: { message: "again" } });
    await mid.store.append("run", { key: "e3", kind: "step.progress", data: { message: "m3" } });
    const seqs = await mid.seqs("run");
    assert.equal(seqs.e3! - seqs.e2!, 2, "the duplicate append left a gap in seq");
    const e2 = await mid.pool.query<{ hash: string }>(
      `SELECT hash FROM gantry.events WHERE seq = ${seqs.e2}`,
    );
    await mid.pool.query(
      "INSERT INTO gantry.events (seq, run_id, key, kind, data, prev_hash, hash) VALUES ($1, 'run', 'forged', 'approval', '{}', $2, $3)",
      [seqs.e2! + 1, e2.rows[0]!.hash, "f".repeat(64)],
    );
    audit = await mid.verify("run");
    assert.equal(audit.problem?.type, "inserted");
    assert.equal(audit.problem?.record?.key, "forged");
    assert.match(
      audit.problem!.message,
      new RegExp(`seq ${seqs.e3}\\) is chained past it, to seq ${seqs.e2}`),
    );

    // The same with a hash computed to fit: the record after it still links past it.
    await mid.pool.query(`DELETE FROM gantry.events WHERE key = 'forged'`);
    const rows = await mid.pool.query<{ at: string }>(
      `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`,
    );
    const at = rows.rows[0]!.at;
    const content = { run: "run", key: "forged", at, kind: "approval", step: null, data: { by: "mallory" } };
    await mid.pool.query(
      "INSERT INTO gantry.events (seq, run_id, key, at, kind, data, prev_hash, hash) VALUES ($1, 'run', 'forged', $2, 'approval', $3, $4, $5)",
      [seqs.e2! + 1, at, content.data, e2.rows[0]!.hash, chainHash(e2.rows[0]!.hash, content)],
    );
    audit = await mid.verify("run");
    assert.equal(audit.problem?.type, "inserted");
    assert.equal(audit.problem?.record?.key, "forged");
  });

  it("reports rows of an earlier Gantry at the start of a log as not chained, and the hashes removed from chained rows", async () => {
    const db = await fresh("run", 0);
    await db.pool.query(
      `INSERT INTO gantry.events (run_id, key, kind, data) VALUES ('run', 'l1', 'run.created', '{}'), ('run', 'l2', 'run.started', '{}')`,
    );
    for (const key of ["c1", "c2"])
      await db.store.append("run", { key, kind: "step.progress", data: { message: key } });
    const audit = await db.verify("run");
    assert.equal(audit.problem, undefined);
    assert.equal(audit.records, 4);
    assert.equal(audit.notChained, 2);
    assert.equal(audit.head?.position, 4);

    const nulled = await fresh();
    await nulled.pool.query(
      `UPDATE gantry.events SET hash = NULL, prev_hash = NULL, data = '{"message":"rewritten"}' WHERE key IN ('e1', 'e2')`,
    );
    const found = await nulled.verify("run");
    assert.equal(found.problem?.type, "removed");
    assert.equal(found.problem?.record?.key, "e3");
    assert.match(found.problem!.message, /or the hashes of the 2 records before it were removed/);
  });
});

describe("verifying every log", () => {
  it("covers each run's log and the actions log, and refuses an unknown run", async () => {
    const db = await fresh("run-1", 2);
    await db.store.append("run-2", { key: "x", kind: "step.progress", data: { message: "x" } });
    let report = await verifyAudit({ store: db.store });
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.logs.map((l) => [l.log, l.records]),
      [
        ["run-1", 2],
        ["run-2", 1],
        [ACTIONS_LOG, 0],
      ],
    );
    await db.store.append(ACTIONS_LOG, { key: "identity:ana", kind: "control.sent", data: { by: "root" } });
    await db.store.append(ACTIONS_LOG, { key: "freeze:1", kind: "control.sent", data: { by: "ana" } });
    await db.pool.query(
      `UPDATE gantry.events SET data = '{"by":"mallory"}' WHERE run_id = $1 AND key = 'identity:ana'`,
      [ACTIONS_LOG],
    );
    report = await verifyAudit({ store: db.store });
    assert.equal(report.ok, false);
    const actions = report.logs.find((l) => l.log === ACTIONS_LOG)!;
    assert.equal(actions.problem?.type, "changed");
    assert.equal(actions.problem?.record?.key, "identity:ana");
    assert.equal((await verifyAudit({ store: db.store }, { run: ACTIONS_LOG })).ok, false);
    await assert.rejects(
      verifyAudit({ store: db.store }, { run: "no-such-run" }),
      (e: unknown) => e instanceof Refusal && e.kind === "not-found" && /no run no-such-run/.test(e.message),
    );
  });
});

describe("anchors", () => {
  it("find the last records removed and a log removed whole, which the chain alone cannot", async () => {
    const db = await fresh("run", 6);
    await db.store.append("other", { key: "o1", kind: "step.progress", data: { message: "o" } });
    const { anchor } = await anchorAudit({ store: db.store });
    assert.deepEqual(
      anchor.logs.map((l) => [l.log, l.records, l.position]),
      [
        ["run", 6, 6],
        ["other", 1, 1],
        [ACTIONS_LOG, 0, 0],
      ],
    );
    assert.deepEqual(parseAnchor(JSON.stringify(anchor)), anchor);
    await db.store.append("run", { key: "e7", kind: "step.progress", data: { message: "later" } });
    assert.equal((await verifyAudit({ store: db.store }, { anchor })).ok, true, "a log may grow");

    await db.pool.query(`DELETE FROM gantry.events WHERE run_id = 'run' AND key IN ('e5', 'e6', 'e7')`);
    assert.equal((await db.verify("run")).problem, undefined, "the chain alone sees nothing");
    const report = await verifyAudit({ store: db.store }, { anchor });
    const run = report.logs.find((l) => l.log === "run")!;
    assert.equal(run.problem?.type, "truncated");
    assert.equal(run.problem?.record?.key, "e4");
    assert.match(
      run.problem!.message,
      /had 6 records when anchored and has 4: the last 2 records were removed/,
    );

    await db.pool.query(`DELETE FROM gantry.events WHERE run_id = 'other'`);
    const gone = (await verifyAudit({ store: db.store }, { run: "other", anchor })).logs[0]!;
    assert.equal(gone.problem?.type, "truncated");
    assert.match(gone.problem!.message, /the whole log was removed: it had 1 records when anchored/);
    await assert.rejects(
      anchorAudit({ store: db.store }, anchor),
      (e: unknown) => e instanceof Refusal && e.kind === "blocked",
    );
  });

  it("find a chain recomputed from scratch by someone with the database", async () => {
    const db = await fresh("run", 4);
    const { anchor } = await anchorAudit({ store: db.store });
    // Change a record and recompute every hash from it on, as an attacker who read chain.ts would.
    await db.pool.query(`UPDATE gantry.events SET data = '{"message":"nothing happened"}' WHERE key = 'e2'`);
    let prev: string | null = null;
    const rows = [];
    for await (const row of chainRows(db.pool, "run")) rows.push(row);
    for (const row of rows) {
      const hash = chainHash(prev, row);
      await db.pool.query("UPDATE gantry.events SET prev_hash = $2, hash = $3 WHERE seq = $1", [
        row.seq,
        prev,
        hash,
      ]);
      prev = hash;
    }
    assert.equal((await db.verify("run")).problem, undefined, "the chain alone sees nothing");
    const run = (await verifyAudit({ store: db.store }, { run: "run", anchor })).logs[0]!;
    assert.equal(run.problem?.type, "rewritten");
    assert.equal(run.problem?.record?.position, 4);
  });

  it("are refused when malformed, and for a log that is not intact", async () => {
    assert.throws(() => parseAnchor("{"), /not JSON/);
    assert.throws(() => parseAnchor('{"anchor":"other"}'), /not an anchor written by `gantry audit anchor`/);
    assert.throws(
      () =>
        parseAnchor(
          '{"anchor":"gantry-audit","version":1,"logs":[{"log":"r","records":-1,"position":0,"head":null}]}',
        ),
      /logs\[0\]/,
    );
    const db = await fresh();
    await db.pool.query(`UPDATE gantry.events SET data = '{}' WHERE key = 'e1'`);
    await assert.rejects(
      anchorAudit({ store: db.store }),
      (e: unknown) =>
        e instanceof Refusal && /not anchoring: a log is not intact.*run: changed/.test(e.message),
    );
  });
});
