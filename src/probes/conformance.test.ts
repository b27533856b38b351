/**
 * The probe contract, checked for every implementation in the registry: a probe never throws,
 * stamps startedAt/finishedAt, answers `error` (never a pass) when it cannot measure — closed
 * port, a server that hangs past the timeout, garbage, a cancelled step — and says why on one
 * line. A new implementation must add a spec builder to SPECS, or this suite fails.
 */

import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { type TestContext, test } from "node:test";
import { HttpProbe, MetricsProbe, type Probe } from "../runbook/schema/probes.js";
import { measure, probeFor, SUPPORTED_PROBE_TYPES } from "./index.js";
import type { Measurement } from "./types.js";

interface Case {
  /** A spec measuring `url`, with a short timeout. */
  spec: (url: string) => Probe;
  /** What a healthy endpoint answers, so the failure cases are known not to fail trivially. */
  healthy: { contentType: string; body: string };
}

const TIMEOUT = "300ms";

const SPECS: Record<string, Case> = {
  http: {
    spec: (url) =>
      HttpProbe.parse({
        type: "http",
        url,
        timeout: TIMEOUT,
        expect: { body: [{ path: "$.status", equals: "ok" }] },
      }),
    healthy: { contentType: "application/json", body: '{"status":"ok"}' },
  },
  metrics: {
    spec: (url) => MetricsProbe.parse({ type: "metrics", url, timeout: TIMEOUT, gauge: "up", expect: 1 }),
    healthy: { contentType: "text/plain; version=0.0.4", body: "# TYPE up gauge\nup 1\n" },
  },
};

const PHASES = ["successful", "failed", "error", "inconclusive"];

function assertContract(m: Measurement): void {
  assert.ok(PHASES.includes(m.phase), `phase ${m.phase}`);
  assert.equal(typeof m.message, "string");
  assert.ok(m.message.trim().length > 0, "message is not empty");
  assert.ok(!/[\r\n]/.test(m.message), `message is one line: ${JSON.stringify(m.message)}`);
  for (const stamp of [m.startedAt, m.finishedAt]) {
    assert.equal(typeof stamp, "string");
    assert.equal(new Date(stamp).toISOString(), stamp, `ISO timestamp: ${stamp}`);
  }
  assert.ok(Date.parse(m.finishedAt) >= Date.parse(m.startedAt), "finishedAt ≥ startedAt");
}

/** Measures through the registry and the implementation alike; neither may throw. */
async function both(spec: Probe, signal?: AbortSignal): Promise<Measurement[]> {
  const implementation = probeFor(spec.type)!;
  const results = [await measure(spec, { signal }), await implementation.measure(spec as never, { signal })];
  for (const m of results) assertContract(m);
  return results;
}

/** Listens on a free loopback port; at the end of the test, drops every connection and closes. */
async function listening(t: TestContext, server: Server | TcpServer): Promise<string> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/probe`;
}

test("every supported probe type has a conformance case", () => {
  assert.ok(SUPPORTED_PROBE_TYPES.length > 0);
  for (const type of SUPPORTED_PROBE_TYPES) {
    assert.ok(SPECS[type], `add a conformance case for ${type}`);
    assert.equal(probeFor(type)?.type, type);
  }
});

test("a type without an implementation is an error, not a throw", async () => {
  const m = await measure({ type: "tls", host: "example.com", port: 443 } as Probe);
  assertContract(m);
  assert.equal(m.phase, "error");
  assert.equal(m.message, "probe type tls is not supported by this version");
  assert.equal(probeFor("tls"), undefined);
  assert.equal(probeFor("constructor" as Probe["type"]), undefined);
  assertContract(await measure(undefined as unknown as Probe));
});

for (const type of SUPPORTED_PROBE_TYPES) {
  const c = SPECS[type];
  if (!c) continue;

  test(`${type}: a healthy endpoint is successful`, async (t) => {
    const url = await listening(
      t,
      createHttpServer((_req, res) => {
        res.writeHead(200, { "content-type": c.healthy.contentType });
        res.end(c.healthy.body);
      }),
    );
    for (const m of await both(c.spec(url))) assert.equal(m.phase, "successful", m.message);
  });

  test(`${type}: a closed port is an error`, async () => {
    const server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    for (const m of await both(c.spec(`http://127.0.0.1:${port}/probe`))) {
      assert.equal(m.phase, "error");
      assert.match(m.message, /connection refused/);
    }
  });

  test(`${type}: a server that hangs past the timeout is an error`, async (t) => {
    const url = await listening(
      t,
      createHttpServer(() => {}),
    );
    const started = Date.now();
    for (const m of await both(c.spec(url))) {
      assert.equal(m.phase, "error");
      assert.match(m.message, /timed out after 300ms/);
    }
    assert.ok(Date.now() - started < 3000, "the timeout is enforced");
  });

  test(`${type}: a server that stops halfway through the body is an error`, async (t) => {
    const url = await listening(
      t,
      createHttpServer((_req, res) => {
        res.writeHead(200, { "content-type": c.healthy.contentType, "content-length": "1000" });
        res.write(c.healthy.body.slice(0, 5));
      }),
    );
    for (const m of await both(c.spec(url))) assert.equal(m.phase, "error");
  });

  test(`${type}: garbage is an error, never a pass`, async (t) => {
    const http = await listening(
      t,
      createHttpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html>\n<body>\u0000\u00ff{{{ not what you asked for\n</body></html>");
      }),
    );
    const notHttp = await listening(
      t,
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
    );
    for (const url of [http, notHttp]) {
      for (const m of await both(c.spec(url))) assert.equal(m.phase, "error", m.message);
    }
  });

  test(`${type}: a cancelled step is an error, before or during the request`, async (t) => {
    const url = await listening(
      t,
      createHttpServer(() => {}),
    );
    for (const m of await both(c.spec(url), AbortSignal.abort())) assert.equal(m.phase, "error");

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const [m] = await both(c.spec(url), controller.signal);
    assert.equal(m!.phase, "error");
    assert.match(m!.message, /cancelled/);
    assert.ok(Date.now() - started < 250, "cancelling does not wait for the timeout");
  });

  test(`${type}: a bad URL is an error`, async () => {
    for (const url of ["not a url", "ftp://127.0.0.1/x", ""]) {
      for (const m of await both(c.spec(url))) assert.equal(m.phase, "error", url);
    }
  });
}
