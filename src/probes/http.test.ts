/**
 * Tests of the http probe against real HTTP servers on 127.0.0.1 (port 0).
 */

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { HttpProbe } from "../runbook/schema/probes.js";
import { httpProbe } from "./http.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A server on a free loopback port, closed when the test ends. Returns its base URL. */
async function serve(t: TestContext, handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function probe(input: Record<string, unknown>) {
  return HttpProbe.parse({ type: "http", timeout: "500ms", ...input });
}

test("a 200 is successful and its value is the status code", async (t) => {
  const base = await serve(t, (_req, res) => json(res, { status: "ok" }));
  const m = await httpProbe.measure(probe({ url: `${base}/health` }), {});
  assert.equal(m.phase, "successful");
  assert.equal(m.value, 200);
  assert.match(m.message, new RegExp(`^GET ${base}/health → 200 in \\d+ ms$`));
  assert.equal(m.detail?.status, 200);
  assert.equal(m.detail?.samples, 1);
  assert.equal(typeof m.detail?.latencyMs, "number");
});

test("an unexpected status fails; a list of statuses is accepted", async (t) => {
  const base = await serve(t, (req, res) => json(res, {}, req.url === "/down" ? 503 : 401));
  const down = await httpProbe.measure(probe({ url: `${base}/down` }), {});
  assert.equal(down.phase, "failed");
  assert.equal(down.value, 503);
  assert.match(down.message, /→ 503, expected 200$/);
  const auth = await httpProbe.measure(probe({ url: `${base}/auth`, expect: { status: [200, 401] } }), {});
  assert.equal(auth.phase, "successful");
  assert.equal(auth.value, 401);
});

test("body assertions: equals, matches, exists, oneOf, expect", async (t) => {
  const base = await serve(t, (_req, res) =>
    json(res, { status: "not_ready", version: "1.4.2", queue: 12, checks: [{ ok: true }, { ok: false }] }),
  );
  const measure = (body: unknown[]) => httpProbe.measure(probe({ url: base, expect: { body } }), {});

  const notReady = await measure([{ path: "$.status", equals: "ok" }]);
  assert.equal(notReady.phase, "failed");
  assert.match(notReady.message, /\$\.status is "not_ready", expected == ok$/);

  assert.equal((await measure([{ path: "$.version", matches: "^1\\.4\\." }])).phase, "successful");
  assert.equal((await measure([{ path: "$.version", matches: "^2\\." }])).phase, "failed");
  assert.equal((await measure([{ path: "$.version", exists: true }])).phase, "successful");
  assert.equal((await measure([{ path: "$.error", exists: false }])).phase, "successful");
  assert.equal((await measure([{ path: "$.status", exists: false }])).phase, "failed");
  assert.equal((await measure([{ path: "$.status", oneOf: ["ok", "not_ready"] }])).phase, "successful");
  assert.equal((await measure([{ path: "$.queue", expect: "< 100" }])).phase, "successful");

  const queue = await measure([{ path: "$.queue", expect: "< 10" }]);
  assert.equal(queue.phase, "failed");
  assert.match(queue.message, /\$\.queue is 12, expected < 10/);

  const missing = await measure([{ path: "$.db", equals: "up" }]);
  assert.equal(missing.phase, "failed");
  assert.match(missing.message, /\$\.db is missing, expected == up/);

  const everyMatch = await measure([{ path: "$.checks[*].ok", equals: true }]);
  assert.equal(everyMatch.phase, "failed", "every field a path matches must pass");

  const mistyped = await measure([{ path: "$.status", expect: "> 5" }]);
  assert.equal(mistyped.phase, "error", "a word cannot be compared with a number");
});

test("a body that is not JSON where JSON is needed is an error, never a pass", async (t) => {
  const html = "<html><body>maintenance</body></html>";
  const base = await serve(t, (_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  const m = await httpProbe.measure(
    probe({ url: base, expect: { body: [{ path: "$.status", equals: "ok" }] } }),
    {},
  );
  assert.equal(m.phase, "error");
  assert.match(m.message, new RegExp(`body is not JSON \\(text/html, ${html.length} bytes\\)`));
});

test("value reads a field; capture keeps fields for later steps", async (t) => {
  const base = await serve(t, (_req, res) => json(res, { version: "1.4.2", token: "abc", n: 0 }));
  const m = await httpProbe.measure(
    probe({ url: base, value: "$.version", capture: { token: "$.token", n: "$.n" } }),
    {},
  );
  assert.equal(m.phase, "successful");
  assert.equal(m.value, "1.4.2");
  assert.deepEqual(m.captures, { token: "abc", n: 0 });

  const missing = await httpProbe.measure(probe({ url: base, value: "$.nope" }), {});
  assert.equal(missing.phase, "error");
  assert.match(missing.message, /value \$\.nope is missing/);
  assert.equal((await httpProbe.measure(probe({ url: base, capture: { x: "$.nope" } }), {})).phase, "error");
});

test("content type is a prefix match; minBytes counts the body", async (t) => {
  const base = await serve(t, (_req, res) => json(res, { a: 1 }));
  const ok = await httpProbe.measure(
    probe({ url: base, expect: { contentType: "application/json", minBytes: 5 } }),
    {},
  );
  assert.equal(ok.phase, "successful");
  const type = await httpProbe.measure(probe({ url: base, expect: { contentType: "text/csv" } }), {});
  assert.equal(type.phase, "failed");
  assert.match(type.message, /content type application\/json, expected text\/csv/);
  const small = await httpProbe.measure(probe({ url: base, expect: { minBytes: 1000 } }), {});
  assert.equal(small.phase, "failed");
  assert.match(small.message, /7 bytes, expected at least 1000/);
});

test("sends method, headers and json, form and text bodies", async (t) => {
  const base = await serve(t, (req, res, body) =>
    json(res, {
      method: req.method,
      type: req.headers["content-type"],
      auth: req.headers.authorization,
      body,
    }),
  );
  const capture = { method: "$.method", type: "$.type", body: "$.body" };
  const sent = await httpProbe.measure(
    probe({ url: base, method: "POST", headers: { Authorization: "Bearer t" }, json: { a: 1 }, capture }),
    {},
  );
  assert.equal(sent.phase, "successful");
  assert.deepEqual(sent.captures, { method: "POST", type: "application/json", body: '{"a":1}' });

  const form = await httpProbe.measure(probe({ url: base, method: "PUT", form: { a: "1 2" }, capture }), {});
  assert.deepEqual(form.captures, {
    method: "PUT",
    type: "application/x-www-form-urlencoded",
    body: "a=1+2",
  });

  const text = await httpProbe.measure(
    probe({ url: base, method: "POST", headers: { "Content-Type": "text/csv" }, text: "a,b", capture }),
    {},
  );
  assert.deepEqual(
    text.captures,
    { method: "POST", type: "text/csv", body: "a,b" },
    "a given content type wins",
  );

  const withAuth = await httpProbe.measure(
    probe({ url: base, headers: { Authorization: "Bearer t" }, value: "$.auth" }),
    {},
  );
  assert.equal(withAuth.value, "Bearer t");
  assert.ok(!withAuth.message.includes("Bearer"), "header values never appear in messages");
});

test("samples and a latency budget", async (t) => {
  const base = await serve(t, (_req, res) => setTimeout(() => json(res, {}), 40));
  const m = await httpProbe.measure(probe({ url: base, samples: 4, budget: { p95: "10ms" } }), {});
  assert.equal(m.phase, "failed");
  assert.match(m.message, /^p95 \d+ ms > budget 10 ms over 4 samples$/);
  assert.equal(m.detail?.samples, 4);
  const p = m.detail?.percentiles as { p50: number; p95: number; max: number };
  assert.ok(p.p50 >= 30 && p.max >= p.p95 && p.p95 >= p.p50);

  const within = await httpProbe.measure(probe({ url: base, samples: 3, budget: { max: "400ms" } }), {});
  assert.equal(within.phase, "successful");
  assert.match(within.message, /→ 3 samples, p50 \d+ ms, p95 \d+ ms, max \d+ ms$/);
});

test("samples and an error budget", async (t) => {
  let n = 0;
  const base = await serve(t, (_req, res) => json(res, {}, n++ % 2 === 0 ? 500 : 200));
  const over = await httpProbe.measure(probe({ url: base, samples: 4, budget: { errorRate: "25%" } }), {});
  assert.equal(over.phase, "failed");
  assert.match(
    over.message,
    /^error rate 50% > budget 25% over 4 samples; first failure: GET .* → 500, expected 200$/,
  );
  assert.equal(over.detail?.errorRate, 0.5);

  const within = await httpProbe.measure(probe({ url: base, samples: 4, budget: { errorRate: 0.6 } }), {});
  assert.equal(within.phase, "successful");
  assert.match(within.message, /2 failed \(50%, within budget\)$/);

  const noBudget = await httpProbe.measure(probe({ url: base, samples: 3 }), {});
  assert.equal(noBudget.phase, "failed");
  assert.match(noBudget.message, /^\d of 3 samples failed; first: /);
});

test("a server slower than the timeout is an error", async (t) => {
  const base = await serve(t, () => {});
  const started = Date.now();
  const m = await httpProbe.measure(probe({ url: base, timeout: "200ms" }), {});
  assert.equal(m.phase, "error");
  assert.match(m.message, /: timed out after 200ms$/);
  assert.ok(Date.now() - started < 2000);
});

test("a closed port is an error: connection refused", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const m = await httpProbe.measure(probe({ url: `http://127.0.0.1:${port}/health` }), {});
  assert.equal(m.phase, "error");
  assert.equal(m.message, `GET http://127.0.0.1:${port}/health: connection refused`);
});

test("poll follows a job until a field has a value", async (t) => {
  let polls = 0;
  const base = await serve(t, (req, res) => {
    if (req.method === "POST") return json(res, { id: "job 7" }, 202);
    if (req.url === "/jobs/job%207") return json(res, { state: ++polls < 3 ? "running" : "done" });
    json(res, {}, 404);
  });
  const m = await httpProbe.measure(
    probe({
      url: `${base}/jobs`,
      method: "POST",
      json: {},
      expect: { status: 202 },
      capture: { job: "$.id" },
      poll: {
        url: `${base}/jobs/{{ captures.job }}`,
        path: "$.state",
        until: "done",
        interval: "20ms",
        timeout: "2s",
      },
    }),
    {},
  );
  assert.equal(m.phase, "successful", m.message);
  assert.match(m.message, /→ 202 in \d+ ms; \$\.state became done \(3 polls, \d+ ms\)$/);
  assert.deepEqual(m.captures, { job: "job 7" });
  assert.equal(m.detail?.polls, 3);
});

test("poll that never finishes is an error", async (t) => {
  const base = await serve(t, (_req, res) => json(res, { state: "running" }));
  const m = await httpProbe.measure(
    probe({ url: base, poll: { path: "$.state", until: "done", interval: "30ms", timeout: "150ms" } }),
    {},
  );
  assert.equal(m.phase, "error");
  assert.match(
    m.message,
    /\$\.state did not become done within 150ms \(\d+ polls; last: \$\.state is "running"\)$/,
  );
});

test("a redirect is followed unless one is expected", async (t) => {
  const base = await serve(t, (req, res) => {
    if (req.url === "/old") {
      res.writeHead(302, { location: "/new" });
      return res.end();
    }
    json(res, {});
  });
  assert.equal((await httpProbe.measure(probe({ url: `${base}/old` }), {})).value, 200);
  assert.equal(
    (await httpProbe.measure(probe({ url: `${base}/old`, expect: { status: 302 } }), {})).value,
    302,
  );
});

test("what is not supported or cannot be sent is an error, with no secret in the message", async () => {
  const multipart = await httpProbe.measure(
    probe({ url: "http://127.0.0.1:9/", method: "POST", multipart: { a: "b" } }),
    {},
  );
  assert.equal(multipart.phase, "error");
  assert.match(multipart.message, /multipart bodies are not supported yet/);

  const download = await httpProbe.measure(probe({ url: "http://127.0.0.1:9/", download: { url: "x" } }), {});
  assert.match(download.message, /download is not supported yet/);

  const creds = await httpProbe.measure(probe({ url: "http://user:hunter2@127.0.0.1:9/" }), {});
  assert.equal(creds.phase, "error");
  assert.ok(!creds.message.includes("hunter2"));

  const getBody = await httpProbe.measure(probe({ url: "http://127.0.0.1:9/", json: { a: 1 } }), {});
  assert.match(getBody.message, /a GET request cannot have a body/);

  const bad = await httpProbe.measure(probe({ url: "not a url" }), {});
  assert.equal(bad.phase, "error");
  assert.match(bad.message, /not a valid URL/);
});
