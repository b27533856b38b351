/**
 * Tests of the postgres probe against a real embedded Postgres on 127.0.0.1 (one server for
 * the file): connect time, pool usage, blocked sessions, schema version, queries, baselines,
 * and what the probe does about slow queries and the password.
 */
import assert from "node:assert/strict";
import { after, before, type TestContext, test } from "node:test";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { PostgresProbe } from "../runbook/schema/probes.js";
import { postgresProbe } from "./postgres.js";
import type { Measurement, ProbeContext } from "./types.js";

let server: PostgresServer;

before(async () => {
  server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`
    CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL);
    INSERT INTO orders (total) SELECT 10 FROM generate_series(1, 1000);
    CREATE TABLE schema_migrations (version text PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20240101'), ('20240315');
    CREATE TABLE locked (id int);`);
  await admin.end();
});

after(() => server?.stop());

function probe(input: Record<string, unknown>) {
  return PostgresProbe.parse({ type: "postgres", timeout: "5s", url: server.url, ...input });
}

function measure(input: Record<string, unknown>, context: ProbeContext = {}): Promise<Measurement> {
  return postgresProbe.measure(probe(input), context);
}

/** A connection of its own, closed when the test ends. */
async function connection(t: TestContext): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.url });
  client.on("error", () => undefined);
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  return client;
}

/** Retries `check` until it passes or `ms` run out (the server notices closed connections a little later). */
async function eventually(check: () => Promise<void>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Client connections the server counts (the caller's included). */
async function clientBackends(client: pg.Client): Promise<number> {
  const { rows } = await client.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'",
  );
  return rows[0].n as number;
}

test("connect: the time to connect and run SELECT 1", async () => {
  const m = await measure({ measure: "connect", expect: "< 60s" });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(typeof m.value, "number");
  assert.ok((m.value as number) >= 0 && (m.value as number) < 10_000, `value ${m.value}`);
  assert.match(m.message, /^connected and ran SELECT 1 in \d+ms \(expected < 60s\)$/);
});

test("connect: the environment's database when the probe names none", async () => {
  const spec = PostgresProbe.parse({ type: "postgres", measure: "connect" });
  const m = await postgresProbe.measure(spec, { env: { database: { url: server.url } } });
  assert.equal(m.phase, "successful", m.message);
  const none = await postgresProbe.measure(spec, {});
  assert.equal(none.phase, "error");
  assert.match(none.message, /no database to measure: give `url` or set the environment's database\.url/);
});

test("pool-usage: connections in use as a share of max_connections, default expect < 80%", async (t) => {
  const admin = await connection(t);
  // No probe connection of an earlier test may still be counted.
  await eventually(async () => {
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'gantry-probe'",
    );
    assert.equal(rows[0].n, 0);
  });
  const base = await clientBackends(admin);
  for (let i = 0; i < 3; i++) await connection(t);
  const m = await measure({ measure: "pool-usage" });
  assert.equal(m.phase, "successful", m.message);
  // The probe's own connection counts: it is in use while it measures.
  assert.deepEqual(m.detail, { inUse: base + 4, max: 100 });
  assert.equal(m.value, (base + 4) / 100);
  assert.equal(
    m.message,
    `${base + 4} of 100 connections in use (${base + 4}% of max_connections) (expected < 80%)`,
  );

  const tight = await measure({ measure: "pool-usage", expect: "< 2%" });
  assert.equal(tight.phase, "failed", tight.message);
  assert.match(tight.message, /connections in use \(\d+% of max_connections\), expected < 2%$/);
});

test("blocking-queries: a session waiting on a lock longer than blockedFor fails, until released", async (t) => {
  const holder = await connection(t);
  const waiter = await connection(t);
  const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  const waiterPid = (await waiter.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;

  const clear = await measure({ measure: "blocking-queries", blockedFor: "200ms" });
  assert.equal(clear.phase, "successful", clear.message);
  assert.equal(clear.value, 0);
  assert.equal(clear.message, "no session waiting on a lock for more than 200ms (expected == 0)");

  await holder.query("BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
  const waiting = waiter.query("SELECT count(*) FROM locked");
  waiting.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));

  const blocked = await measure({ measure: "blocking-queries", blockedFor: "200ms" });
  assert.equal(blocked.phase, "failed", blocked.message);
  assert.equal(blocked.value, 1);
  assert.match(
    blocked.message,
    new RegExp(
      `^1 session waiting on a lock for more than 200ms \\(longest: pid ${waiterPid} for \\d+(\\.\\d+)?m?s, blocked by pid ${holderPid}\\), expected == 0$`,
    ),
  );
  const sessions = (blocked.detail as { sessions: Array<Record<string, unknown>> }).sessions;
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0]!.pid, waiterPid);
  assert.deepEqual(sessions[0]!.blockedBy, [holderPid]);
  assert.ok((sessions[0]!.waitedMs as number) >= 200, `waited ${sessions[0]!.waitedMs}`);
  assert.equal(sessions[0]!.query, "SELECT count(*) FROM locked");

  // Waiting, but not yet for longer than blockedFor.
  const patient = await measure({ measure: "blocking-queries", blockedFor: "10m" });
  assert.equal(patient.phase, "successful", patient.message);
  assert.equal(patient.value, 0);

  await holder.query("COMMIT");
  await waiting;
  const released = await measure({ measure: "blocking-queries", blockedFor: "200ms" });
  assert.equal(released.phase, "successful", released.message);
  assert.equal(released.value, 0);
});

test("schema-version: the environment's schemaVersion query, or the probe's own", async () => {
  const env = {
    database: { url: server.url, schemaVersion: "SELECT max(version) FROM schema_migrations" },
  };
  const spec = (input: Record<string, unknown>) =>
    PostgresProbe.parse({ type: "postgres", measure: "schema-version", ...input });

  const current = await postgresProbe.measure(spec({ expect: "== 20240315" }), { env });
  assert.equal(current.phase, "successful", current.message);
  // A text column compared with a number is read as the number.
  assert.equal(current.value, 20240315);
  assert.equal(current.message, 'schema version "20240315" (expected == 20240315)');

  const behind = await postgresProbe.measure(spec({ expect: "20240401" }), { env });
  assert.equal(behind.phase, "failed", behind.message);
  assert.equal(behind.message, 'schema version "20240315", expected == 20240401');

  const own = await postgresProbe.measure(spec({ query: "SELECT min(version) FROM schema_migrations" }), {
    env,
  });
  assert.equal(own.phase, "successful", own.message);
  assert.equal(own.value, "20240101");

  const none = await postgresProbe.measure(spec({}), { env: { database: { url: server.url } } });
  assert.equal(none.phase, "error");
  assert.equal(
    none.message,
    "measure schema-version needs `query`, or the environment's database.schemaVersion",
  );
});

test("query: the first value, numbers from bigint and numeric, judged by expect", async () => {
  const count = await measure({ query: "SELECT count(*) FROM orders", expect: "> 0" });
  assert.equal(count.phase, "successful", count.message);
  assert.equal(count.value, 1000);
  assert.equal(count.message, "SELECT count(*) FROM orders returned 1000 (expected > 0)");

  const none = await measure({ query: "SELECT count(*) FROM orders WHERE total > 100", expect: "> 0" });
  assert.equal(none.phase, "failed", none.message);
  assert.equal(none.value, 0);

  assert.equal((await measure({ query: "SELECT sum(total) / 800 FROM orders" })).value, 12.5);
  assert.equal((await measure({ query: "SELECT true", expect: true })).phase, "successful");
  assert.equal((await measure({ query: "SELECT NULL" })).value, null);
  assert.equal((await measure({ query: "SELECT 'ok' AS a, 2 AS b" })).value, "ok");

  const missing = await measure({});
  assert.equal(missing.phase, "error");
  assert.equal(missing.message, "measure query needs `query`: SQL returning one value");
});

test("query: a probe cannot write", async () => {
  const m = await measure({ query: "INSERT INTO orders (total) VALUES (1) RETURNING id" });
  assert.equal(m.phase, "error", m.message);
  assert.match(m.message, /cannot execute INSERT in a read-only transaction \(SQLSTATE 25006\)$/);
  assert.equal((await measure({ query: "SELECT count(*) FROM orders" })).value, 1000);
});

test("query: a slow query times out, and stops on the server too", async (t) => {
  const admin = await connection(t);
  const m = await measure({ query: "SELECT pg_sleep(30)", timeout: "300ms" });
  assert.equal(m.phase, "error");
  assert.match(
    m.message,
    /^postgres query at postgres:\/\/gantry:\*\*\*@127\.0\.0\.1:\d+\/gantry: timed out after 300ms$/,
  );
  await eventually(async () => {
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
    );
    assert.equal(rows[0].n, 0);
  });

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const cancelled = await measure({ query: "SELECT pg_sleep(30)" }, { signal: controller.signal });
  assert.equal(cancelled.phase, "error");
  assert.match(cancelled.message, /: cancelled$/);
});

test("baseline: captured before the deploy, then compared within the tolerance", async (t) => {
  const admin = await connection(t);
  const spec = {
    name: "orders-count",
    query: "SELECT count(*) FROM orders",
    baseline: { tolerance: "2%" },
  };
  const captured = await measure(spec);
  assert.equal(captured.phase, "successful", captured.message);
  assert.equal(captured.value, 1000);
  assert.equal(captured.message, "baseline captured: orders-count = 1000");
  assert.deepEqual(captured.state, { baseline: 1000 });

  await admin.query("INSERT INTO orders (total) SELECT 10 FROM generate_series(1, 10)");
  const within = await measure(spec, { baseline: 1000 });
  assert.equal(within.phase, "successful", within.message);
  assert.equal(within.message, "orders-count 1010 vs 1000 before the deploy (+1.0%), within ±2%");

  await admin.query("INSERT INTO orders (total) SELECT 10 FROM generate_series(1, 30)");
  const outside = await measure(spec, { baseline: 1000 });
  assert.equal(outside.phase, "failed", outside.message);
  assert.equal(outside.value, 1040);
  assert.equal(outside.message, "orders-count 1040 vs 1000 before the deploy (+4.0%), tolerance ±2%");
  assert.equal((outside.detail as { change: number }).change, 0.04);

  const fewer = await measure(spec, { baseline: 1100 });
  assert.equal(fewer.phase, "failed", fewer.message);
  assert.match(fewer.message, /1040 vs 1100 before the deploy \(−5\.5%\), tolerance ±2%$/);

  const word = await measure(spec, { baseline: "many" });
  assert.equal(word.phase, "error");
  assert.equal(word.message, 'the baseline of orders-count before the deploy is "many", not a number');

  const text = await measure({ query: "SELECT 'abc'", baseline: { tolerance: 0.02 } });
  assert.equal(text.phase, "error");
  assert.match(text.message, /is "abc", not a number; a baseline compares numbers$/);
});

test("the password never shows, whatever the server says", async () => {
  const wrong = "not-the-password-123";
  const refused = await measure({ url: server.urlWithPassword(wrong), measure: "connect" });
  assert.equal(refused.phase, "error");
  assert.ok(!refused.message.includes(wrong), refused.message);
  assert.match(
    refused.message,
    /postgres:\/\/gantry:\*\*\*@127\.0\.0\.1:\d+\/gantry: password authentication failed/,
  );

  // The server echoes the value it could not read; no redact is given, the probe scrubs it.
  const echoed = await measure({ query: "SELECT 'probe-test-password'::int" });
  assert.equal(echoed.phase, "error");
  assert.ok(!echoed.message.includes("probe-test-password"), echoed.message);
  assert.match(echoed.message, /invalid input syntax for type integer: "\*\*\*"/);
});
