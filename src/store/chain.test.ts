/**
 * The hash chain as EventStore writes it, on a real Postgres: each record is chained to the
 * one before it in its log, appends keep their duplicate and `controlPending` behaviour, two
 * processes appending to one run at once still make one line, and a database of an earlier
 * Gantry gets the columns and keeps its rows.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { createDatabase } from "../../test/helpers/sql.js";
import { CHAIN_LOCK_SPACE, canonicalJson, chainHash, chainLockKey, chainRows } from "./chain.js";
import { endPool, migrate } from "./database.js";
import { EventStore } from "./events.js";

let server: PostgresServer;
const pools: pg.Pool[] = [];
let databases = 0;

function pool(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 4 });
  p.on("error", () => undefined);
  pools.push(p);
  return p;
}

/** A database of its own, with Gantry's schema. */
async function fresh(): Promise<{ url: string; pool: pg.Pool; store: EventStore }> {
  const url = await createDatabase(server.url, `chain_${++databases}`);
  const p = pool(url);
  await migrate(p);
  return { url, pool: p, store: new EventStore(p) };
}

async function rows(p: pg.Pool, run: string) {
  const out = [];
  for await (const row of chainRows(p, run, 7)) out.push(row);
  return out;
}

before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const p of pools) await endPool(p, 2000);
  await server?.stop();
});

describe("canonical JSON", () => {
  it("sorts the keys of every object and converts as JSON.stringify does", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }),
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    assert.equal(
      canonicalJson({ a: undefined, b: [undefined], c: new Date(0) }),
      '{"b":[null],"c":"1970-01-01T00:00:00.000Z"}',
    );
    assert.equal(canonicalJson(undefined), "null");
  });

  it("changes the hash with any field, the link included", () => {
    const content = {
      run: "r",
      key: "k",
      at: "2025-10-07T14:00:00.000000Z",
      kind: "output",
      step: null,
      data: { line: "x" },
    };
    const base = chainHash(null, content);
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(chainHash(null, { ...content, data: { line: "x" } }), base);
    for (const changed of [
      { ...content, run: "s" },
      { ...content, key: "l" },
      { ...content, at: "2025-10-07T14:00:00.000001Z" },
      { ...content, kind: "step.progress" },
      { ...content, step: "gate:test" },
      { ...content, data: { line: "y" } },
    ]) {
      assert.notEqual(chainHash(null, changed), base);
    }
    assert.notEqual(chainHash("0".repeat(64), content), base);
  });
});

describe("appends to the chain", () => {
  it("chain each record to the one before it in its log, and what is read back hashes the same", async () => {
    const { pool: p, store } = await fresh();
    const data = {
      zeta: 'ü ✓ "quoted" \\ line\nbreak',
      alpha: { n: 0.1 + 0.2, big: 1e21, neg: -0, list: [3, "b", null] },
    };
    await store.append("run-a", {
      key: "one",
      kind: "step.progress",
      step: "gate:test",
      data: { message: "1" },
    });
    await store.append("run-b", { key: "one", kind: "step.progress", data: { message: "other log" } });
    await store.append("run-a", { key: "two", kind: "control.sent", data });
    await store.append("run-a", {
      key: "three",
      kind: "output",
      at: "2025-10-07T10:00:00.123456-04:00",
      data: { line: "given at" },
    });
    const chain = await rows(p, "run-a");
    assert.deepEqual(
      chain.map((r) => r.key),
      ["one", "two", "three"],
    );
    assert.equal(chain[0]!.prevHash, null);
    for (const [i, r] of chain.entries()) {
      if (i > 0) assert.equal(r.prevHash, chain[i - 1]!.hash, `${r.key} is chained to ${chain[i - 1]!.key}`);
      assert.equal(chainHash(r.prevHash, r), r.hash, `${r.key} hashes as it was written`);
    }
    assert.equal(
      chain[2]!.at,
      "2025-10-07T14:00:00.123456Z",
      "a given time is kept to the microsecond, in UTC",
    );
    const other = await rows(p, "run-b");
    assert.equal(other[0]!.prevHash, null, "each log is a chain of its own");
  });

  it("keep the duplicate and pending behaviour: a key stored once, unreceived control messages reported", async () => {
    const { pool: p, store } = await fresh();
    const first = await store.append("run", { key: "started", kind: "run.resumed", data: { pid: 1 } });
    assert.equal(first?.controlPending, false);
    assert.match(
      String(first?.at),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      "the database's clock, as before",
    );
    assert.equal(
      await store.append("run", { key: "started", kind: "run.resumed", data: { pid: 2 } }),
      undefined,
    );
    await store.append("run", { key: "sent:m1", kind: "control.sent", data: { id: "m1" } });
    const waiting = await store.append("run", {
      key: "progress",
      kind: "step.progress",
      data: { message: "x" },
    });
    assert.equal(waiting?.controlPending, true, "a control message was sent and not received yet");
    const received = await store.append("run", { key: "control:m1", kind: "decision", data: { id: "m1" } });
    assert.equal(received?.controlPending, true, "the insert does not see its own row, as before");
    const next = await store.append("run", {
      key: "progress:2",
      kind: "step.progress",
      data: { message: "y" },
    });
    assert.equal(next?.controlPending, false, "the message was received");
    const chain = await rows(p, "run");
    assert.equal(chain.length, 5);
    assert.deepEqual((await store.find("run", "started"))?.data, { pid: 1 });
    for (const [i, r] of chain.entries()) if (i > 0) assert.equal(r.prevHash, chain[i - 1]!.hash);
  });

  it("from two processes at once make one line: the log's lock orders them", async () => {
    const { url, pool: one } = await fresh();
    const a = new EventStore(one);
    const b = new EventStore(pool(url));
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 150; i++) {
      writes.push(a.append("shared", { key: `a:${i}`, kind: "output", data: { line: `a ${i}` } }));
      writes.push(b.append("shared", { key: `b:${i}`, kind: "output", data: { line: `b ${i}` } }));
      // Another log written meanwhile takes its own lock.
      if (i % 10 === 0)
        writes.push(b.append("elsewhere", { key: `e:${i}`, kind: "output", data: { line: "e" } }));
    }
    await Promise.all(writes);
    const chain = await rows(one, "shared");
    assert.equal(chain.length, 300);
    assert.equal(chain[0]!.prevHash, null);
    for (const [i, r] of chain.entries()) {
      if (i > 0) assert.equal(r.prevHash, chain[i - 1]!.hash, `record ${i + 1} (${r.key}) forks the chain`);
      assert.equal(chainHash(r.prevHash, r), r.hash);
    }
    // Each process kept its own order.
    for (const who of ["a", "b"]) {
      const mine = chain.filter((r) => r.key.startsWith(`${who}:`)).map((r) => Number(r.key.slice(2)));
      assert.deepEqual(
        mine,
        [...mine].sort((x, y) => x - y),
      );
    }
  });

  it("wait for the log's lock, and one whose connection is cut meanwhile is retried without forking the chain", async () => {
    const { url, pool: p, store } = await fresh();
    await store.append("held", { key: "first", kind: "output", data: { line: "1" } });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query(`BEGIN; SELECT pg_advisory_xact_lock(${CHAIN_LOCK_SPACE}, ${chainLockKey("held")})`);
      const waiting = store.append("held", { key: "second", kind: "output", data: { line: "2" } });
      const other = await store.append("free", { key: "x", kind: "output", data: { line: "another log" } });
      assert.ok(other, "another log's append does not wait");
      let blocked: number | undefined;
      for (let i = 0; i < 100 && blocked === undefined; i++) {
        const r = await holder.query<{ pid: number }>(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2::oid AND NOT granted",
          [CHAIN_LOCK_SPACE, chainLockKey("held") >>> 0],
        );
        blocked = r.rows[0]?.pid;
        if (blocked === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(blocked, "the append waits for the log's lock");
      await holder.query("SELECT pg_terminate_backend($1)", [blocked]);
      await holder.query("COMMIT");
      assert.ok(await waiting, "the append was retried on a new connection");
    } finally {
      await holder.end();
    }
    const chain = await rows(p, "held");
    assert.deepEqual(
      chain.map((r) => r.key),
      ["first", "second"],
    );
    assert.equal(chain[1]!.prevHash, chain[0]!.hash);
  });

  it("never deadlock with another gantry process creating the schema at the same time", async () => {
    const { url, pool: p, store } = await fresh();
    const other = pool(url);
    let migrating = true;
    const migrations = (async () => {
      let n = 0;
      while (migrating) {
        await migrate(other);
        n++;
      }
      return n;
    })();
    try {
      for (let i = 0; i < 300; i++) {
        await store.append("busy", { key: `k${i}`, kind: "output", data: { line: String(i) } });
      }
    } finally {
      migrating = false;
    }
    assert.ok((await migrations) > 0);
    assert.equal((await rows(p, "busy")).length, 300);
  });

  it("go on in a database of an earlier Gantry: the columns are added, old rows keep no hash", async () => {
    const url = await createDatabase(server.url, "chain_legacy");
    const p = pool(url);
    await p.query(`CREATE SCHEMA gantry;
      CREATE TABLE gantry.events (seq bigserial PRIMARY KEY, run_id text NOT NULL, key text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(), kind text NOT NULL, step text, data jsonb NOT NULL DEFAULT '{}',
        UNIQUE (run_id, key));
      INSERT INTO gantry.events (run_id, key, kind, data) VALUES ('old', 'created', 'run.created', '{"service":"shop"}')`);
    await migrate(p);
    await migrate(p);
    const store = new EventStore(p);
    await store.append("old", {
      key: "later",
      kind: "step.progress",
      data: { message: "after the upgrade" },
    });
    const chain = await rows(p, "old");
    assert.deepEqual(
      chain.map((r) => [r.key, r.prevHash, r.hash === null]),
      [
        ["created", null, true],
        ["later", null, false],
      ],
    );
  });
});
