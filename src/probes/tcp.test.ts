/**
 * Tests of the tcp probe against real ports on 127.0.0.1: a listening server, a closed port,
 * and a port whose accept queue is full, where connecting hangs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TcpProbe } from "../runbook/schema/probes.js";
import { unansweredPort } from "./tcp.conformance.js";
import { tcpProbe } from "./tcp.js";
import { closedPort, silentServer } from "./test-support.js";

function measure(input: Record<string, unknown>, signal?: AbortSignal) {
  const spec = TcpProbe.parse({ type: "tcp", host: "127.0.0.1", timeout: "2s", ...input });
  return tcpProbe.measure(spec, signal ? { signal } : {});
}

test("a port that accepts is successful; the value is the connect time in ms", async (t) => {
  const port = await silentServer((stop) => t.after(stop));
  const m = await measure({ port });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(typeof m.value, "number");
  assert.ok((m.value as number) >= 0 && (m.value as number) < 2000);
  assert.match(m.message, new RegExp(`^127\\.0\\.0\\.1:${port} accepted the connection in \\d+ ms$`));
  assert.equal(m.detail?.address, "127.0.0.1");
});

test("a name is looked up first (localhost, from the hosts file)", async (t) => {
  const port = await silentServer((stop) => t.after(stop));
  const m = await measure({ host: "localhost", port });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(typeof m.detail?.lookupMs, "number");
});

test("a refused connection is failed: measured, nothing accepts there", async () => {
  const port = await closedPort();
  const m = await measure({ port });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, undefined);
  assert.equal(m.message, `127.0.0.1:${port} refused the connection`);
});

test("no answer is an error: timed out, or cancelled", async (t) => {
  const port = await unansweredPort((stop) => t.after(stop));
  const started = Date.now();
  const m = await measure({ port, timeout: "300ms" });
  assert.equal(m.phase, "error");
  assert.equal(m.message, `connect to 127.0.0.1:${port}: timed out after 300ms`);
  assert.ok(Date.now() - started < 5000);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const cancelled = await measure({ port, timeout: "60s" }, controller.signal);
  assert.equal(cancelled.phase, "error");
  assert.equal(cancelled.message, `connect to 127.0.0.1:${port}: cancelled`);
});

test("a bad host is an error, before any lookup", async () => {
  for (const host of ["db.internal:5432", "postgres://db.internal", "db internal", ""]) {
    const m = await measure({ host, port: 5432 });
    assert.equal(m.phase, "error", host);
    assert.match(m.message, /^(bad host|give a host)/);
  }
  const v6 = await measure({ host: "[::1]", port: await closedPort() });
  assert.notEqual(v6.phase, "successful");
  assert.match(v6.message, /\[::1\]:\d+/);
});
