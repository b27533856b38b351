import assert from "node:assert/strict";
import { test } from "node:test";
import { HEARTBEAT_STALE_MS, readiness } from "../readiness.mjs";

const up = async () => undefined;
const down = (message) => async () => {
  throw new Error(message);
};

test("ready when PostgreSQL, Redis and a fresh worker heartbeat answer", async () => {
  const now = 1_000_000;
  const answer = await readiness({ postgres: up, redis: up, heartbeat: async () => now - 100 }, now);
  assert.deepEqual(answer, { status: "ready" });
});

test("a stale worker heartbeat is not_ready, and says how stale", async () => {
  const now = 1_000_000;
  const answer = await readiness(
    { postgres: up, redis: up, heartbeat: async () => now - HEARTBEAT_STALE_MS - 1 },
    now,
  );
  assert.equal(answer.status, "not_ready");
  assert.deepEqual(answer.failing, [`worker: last heartbeat ${HEARTBEAT_STALE_MS + 1}ms ago`]);
});

test("a dependency that is down is named; no heartbeat is read from a Redis that is down", async () => {
  const answer = await readiness({
    postgres: down("connection refused"),
    redis: down("ECONNREFUSED"),
    heartbeat: async () => assert.fail("read the heartbeat"),
  });
  assert.deepEqual(answer, {
    status: "not_ready",
    failing: ["postgres: connection refused", "redis: ECONNREFUSED"],
  });
});
