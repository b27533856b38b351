/**
 * Tests of the redis probe against real redis-server processes on 127.0.0.1, each started
 * with the settings a test needs (maxmemory, eviction policy, persistence).
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { createClient } from "redis";
import { type RedisServer, startRedis } from "../../test/helpers/redis-server.js";
import { RedisProbe } from "../runbook/schema/probes.js";
import { parseInfo, type RedisState, redisProbe } from "./redis.js";
import { closedPort } from "./test-support.js";
import type { Measurement, ProbeContext } from "./types.js";

/** A redis-server for this test, stopped when it ends. */
async function redis(t: TestContext, extra: string[] = []): Promise<RedisServer> {
  const server = await startRedis(extra);
  t.after(() => server.stop());
  return server;
}

function measure(
  url: string,
  input: Record<string, unknown>,
  context: ProbeContext = {},
): Promise<Measurement> {
  return redisProbe.measure(RedisProbe.parse({ type: "redis", timeout: "5s", url, ...input }), context);
}

/** A client of the test's own, destroyed when the test ends. */
async function client(t: TestContext, url: string) {
  const c = createClient({ url, socket: { reconnectStrategy: false } });
  c.on("error", () => undefined);
  await c.connect();
  t.after(() => {
    if (c.isOpen) c.destroy();
  });
  return c;
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

test("INFO text is read into fields", () => {
  const info = parseInfo(
    "# Memory\r\nused_memory:1024\r\nmaxmemory_policy:noeviction\r\n\r\n# Stats\r\nx:a:b\r\n",
  );
  assert.deepEqual(info, { used_memory: "1024", maxmemory_policy: "noeviction", x: "a:b" });
});

test("ping: the PING round trip in ms", async (t) => {
  const server = await redis(t);
  const m = await measure(server.url, { measure: "ping", expect: "< 60s" });
  assert.equal(m.phase, "successful", m.message);
  assert.ok(typeof m.value === "number" && m.value >= 0 && m.value < 10_000, `value ${m.value}`);
  assert.match(m.message, /^PING answered in \d+(\.\d)?ms \(expected < 60s\)$/);

  const spec = RedisProbe.parse({ type: "redis" });
  const fromEnv = await redisProbe.measure(spec, { env: { redis: { url: server.url } } });
  assert.equal(fromEnv.phase, "successful", fromEnv.message);
  const none = await redisProbe.measure(spec, {});
  assert.equal(none.phase, "error");
  assert.equal(none.message, "no Redis to measure: give `url` or set the environment's redis.url");
});

test("memory: used_memory as a share of maxmemory", async (t) => {
  const server = await redis(t, ["--maxmemory", "10mb"]);
  const c = await client(t, server.url);
  for (let i = 0; i < 20; i++) await c.set(`blob:${i}`, "x".repeat(100_000));

  const m = await measure(server.url, { measure: "memory", expect: "< 80%" });
  assert.equal(m.phase, "successful", m.message);
  const detail = m.detail as { usedBytes: number; maxBytes: number; policy: string };
  assert.equal(detail.maxBytes, 10 * 1024 * 1024);
  assert.ok(detail.usedBytes > 2_000_000, `used ${detail.usedBytes}`);
  assert.equal(m.value, detail.usedBytes / detail.maxBytes);
  assert.match(m.message, /^used_memory [\d.]+ MiB of maxmemory 10 MiB \([\d.]+%\) \(expected < 80%\)$/);

  const tight = await measure(server.url, { measure: "memory", expect: "< 5%" });
  assert.equal(tight.phase, "failed", tight.message);
  assert.match(tight.message, /, expected < 5%$/);
});

test("memory: without maxmemory there is no share to take: inconclusive", async (t) => {
  const server = await redis(t);
  const m = await measure(server.url, { measure: "memory", expect: "< 80%" });
  assert.equal(m.phase, "inconclusive", m.message);
  assert.equal(typeof m.value, "number");
  assert.equal(m.value, (m.detail as { usedBytes: number }).usedBytes);
  assert.match(m.message, /^used_memory [\d.]+ [KM]iB and no maxmemory set: no limit to take a share of/);
});

test("clients: connected clients, this probe's included", async (t) => {
  const server = await redis(t);
  const extra = [await client(t, server.url), await client(t, server.url), await client(t, server.url)];
  await eventually(async () => {
    const m = await measure(server.url, { measure: "clients", expect: "< 100" });
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 4);
    assert.match(
      m.message,
      /^4 clients connected of maxclients \d+ \(this probe included\) \(expected < 100\)$/,
    );
  });
  for (const c of extra) c.destroy();
  await eventually(async () => {
    const m = await measure(server.url, { measure: "clients", expect: "> 1" });
    assert.equal(m.value, 1);
    assert.equal(m.phase, "failed", m.message);
  });
});

test("evictions: the increase since the previous measurement", async (t) => {
  const server = await redis(t, ["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"]);
  const first = await measure(server.url, { measure: "evictions", expect: "== 0" });
  assert.equal(first.phase, "successful", first.message);
  assert.equal(first.value, 0);
  assert.equal(first.message, "no keys evicted since the server started (evicted_keys 0) (expected == 0)");
  const firstState = first.state as RedisState;
  assert.equal(firstState.evicted, 0);
  assert.equal(typeof firstState.runId, "string");

  const c = await client(t, server.url);
  for (let i = 0; i < 60; i++) await c.set(`blob:${i}`, "x".repeat(100_000));

  const second = await measure(
    server.url,
    { measure: "evictions", expect: "== 0" },
    { previous: firstState },
  );
  assert.equal(second.phase, "failed", second.message);
  const evicted = second.value as number;
  assert.ok(evicted > 0, `evicted ${evicted}`);
  assert.match(
    second.message,
    new RegExp(
      `^${evicted} keys? evicted in the last [\\d.]+s \\(evicted_keys ${evicted}\\), expected == 0$`,
    ),
  );

  const quiet = await measure(
    server.url,
    { measure: "evictions", expect: "== 0" },
    { previous: second.state },
  );
  assert.equal(quiet.phase, "successful", quiet.message);
  assert.equal(quiet.value, 0);

  // No earlier sample: the total since the server started says nothing about the last minutes.
  const fresh = await measure(server.url, { measure: "evictions", expect: "== 0" });
  assert.equal(fresh.phase, "inconclusive", fresh.message);
  assert.equal(fresh.value, evicted);
  assert.equal(
    fresh.message,
    `evicted_keys is ${evicted} in total since the server started; this is the first sample, the next one reports the increase`,
  );

  // Another run_id: the server restarted and counts from 0 again.
  const restarted = await measure(
    server.url,
    { measure: "evictions" },
    { previous: { evicted: evicted + 100, at: Date.now() - 60_000, runId: "before-the-restart" } },
  );
  assert.equal(restarted.value, evicted);
  assert.match(restarted.message, /evicted since the server restarted/);

  // An error keeps the previous state for the next sample.
  const down = await measure(
    `redis://127.0.0.1:${await closedPort()}`,
    { measure: "evictions" },
    {
      previous: firstState,
    },
  );
  assert.equal(down.phase, "error");
  assert.deepEqual(down.state, firstState);
});

test("policy: maxmemory-policy, expected noeviction unless told otherwise", async (t) => {
  const strict = await redis(t);
  const ok = await measure(strict.url, { measure: "policy" });
  assert.equal(ok.phase, "successful", ok.message);
  assert.equal(ok.value, "noeviction");
  assert.equal(ok.message, "maxmemory-policy is noeviction (expected == noeviction)");

  const lru = await redis(t, ["--maxmemory-policy", "allkeys-lru"]);
  const evicting = await measure(lru.url, { measure: "policy" });
  assert.equal(evicting.phase, "failed", evicting.message);
  assert.equal(evicting.message, "maxmemory-policy is allkeys-lru, expected == noeviction");
  assert.equal((await measure(lru.url, { measure: "policy", expect: "allkeys-lru" })).phase, "successful");
});

test("persistence: RDB save points or AOF on, expected true unless told otherwise", async (t) => {
  const rdb = await redis(t, ["--save", "60 1"]);
  const saving = await measure(rdb.url, { measure: "persistence" });
  assert.equal(saving.phase, "successful", saving.message);
  assert.equal(saving.value, true);
  assert.equal(saving.message, 'persistence on: RDB save points "60 1", AOF off (expected == true)');
  assert.equal((saving.detail as { rdbLastBgsaveStatus: string }).rdbLastBgsaveStatus, "ok");

  const aof = await redis(t, ["--appendonly", "yes"]);
  const appending = await measure(aof.url, { measure: "persistence" });
  assert.equal(appending.phase, "successful", appending.message);
  assert.equal(appending.message, "persistence on: no RDB save points, AOF on (expected == true)");

  const off = await redis(t);
  const volatile = await measure(off.url, { measure: "persistence" });
  assert.equal(volatile.phase, "failed", volatile.message);
  assert.equal(volatile.value, false);
  assert.equal(volatile.message, "persistence off: no RDB save points, AOF off, expected == true");
});

test("persistence: where CONFIG is refused (managed Redis), AOF on still answers", async (t) => {
  /** A server whose user `probe` may run everything but CONFIG. */
  const restricted = async (extra: string[]) => {
    const server = await redis(t, extra);
    const admin = await client(t, server.url);
    await admin.sendCommand(["ACL", "SETUSER", "probe", "on", ">probe-pass", "+@all", "-config", "~*"]);
    return `redis://probe:probe-pass@127.0.0.1:${server.port}`;
  };
  const aof = await measure(await restricted(["--appendonly", "yes"]), { measure: "persistence" });
  assert.equal(aof.phase, "successful", aof.message);
  assert.equal(aof.message, "persistence on: RDB save points unknown, AOF on (expected == true)");

  const unknown = await measure(await restricted([]), { measure: "persistence" });
  assert.equal(unknown.phase, "error", unknown.message);
  assert.match(
    unknown.message,
    /: AOF is off, and the RDB save points cannot be read: CONFIG GET save was refused \(NOPERM .*\)$/,
  );
});

test("the password never shows", async (t) => {
  const server = await redis(t, ["--requirepass", "right-password"]);
  const url = (password: string) => `redis://:${password}@127.0.0.1:${server.port}`;
  const ok = await measure(url("right-password"), { measure: "clients" });
  assert.equal(ok.phase, "successful", ok.message);

  const refused = await measure(url("wrong-password-123"), { measure: "ping" });
  assert.equal(refused.phase, "error");
  assert.ok(!refused.message.includes("wrong-password-123"), refused.message);
  assert.match(refused.message, /^redis ping at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
});
