/**
 * Tests of the http probe against real HTTP servers on 127.0.0.1 (port 0).
 */

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type TestContext, test } from "node:test";
import { HttpProbe } from "../runbook/schema/probes.js";
import { httpProbe } from "./http.js";
import { closedPort } from "./test-support.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string, raw: Buffer) => void;

/** A server on a free loopback port, closed when the test ends. Returns its base URL. */
async function serve(t: TestContext, handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      handler(req, res, raw.toString(), raw);
    });
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

/**
 * An http probe spec. The timeout is generous: the first fetch in a process loads undici,
 * which takes over 500 ms when test files run side by side; tests of timeouts set their own.
 */
function probe(input: Record<string, unknown>) {
  return HttpProbe.parse({ type: "http", timeout: "5s", ...input });
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
  const p = m.detail as { p50: number; p95: number; p99: number; max: number };
  assert.ok(p.p50 >= 30 && p.max >= p.p99 && p.p99 >= p.p95 && p.p95 >= p.p50);

  const within = await httpProbe.measure(probe({ url: base, samples: 3, budget: { max: "400ms" } }), {});
  assert.equal(within.phase, "successful");
  assert.match(within.message, /→ 3 samples, p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms$/);
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

test("what cannot be sent is an error, with no secret in the message", async () => {
  const multipartGet = await httpProbe.measure(
    probe({ url: "http://127.0.0.1:9/", multipart: { a: "b" } }),
    {},
  );
  assert.equal(multipartGet.phase, "error");
  assert.match(multipartGet.message, /a GET request cannot have a body/);

  const twoBodies = await httpProbe.measure(
    probe({ url: "http://127.0.0.1:9/", method: "POST", text: "x", multipart: { a: "b" } }),
    {},
  );
  assert.match(twoBodies.message, /give one body: json, form, text or multipart/);

  const boundary = await httpProbe.measure(
    probe({
      url: "http://127.0.0.1:9/",
      method: "POST",
      headers: { "Content-Type": "multipart/form-data" },
      multipart: { a: "b" },
    }),
    {},
  );
  assert.equal(boundary.phase, "error");
  assert.match(boundary.message, /leave out the Content-Type header with multipart/);

  const creds = await httpProbe.measure(probe({ url: "http://user:hunter2@127.0.0.1:9/" }), {});
  assert.equal(creds.phase, "error");
  assert.ok(!creds.message.includes("hunter2"));

  const getBody = await httpProbe.measure(probe({ url: "http://127.0.0.1:9/", json: { a: 1 } }), {});
  assert.match(getBody.message, /a GET request cannot have a body/);

  const bad = await httpProbe.measure(probe({ url: "not a url" }), {});
  assert.equal(bad.phase, "error");
  assert.match(bad.message, /not a valid URL/);
});

/** A fresh folder, removed when the test ends. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gantry-http-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads a multipart body the way a server does (undici's Request.formData()). */
function parseForm(req: IncomingMessage, raw: Buffer): Promise<FormData> {
  const headers = req.headers as Record<string, string>;
  return new Request("http://x", { method: "POST", headers, body: new Uint8Array(raw) }).formData();
}

test("multipart sends text fields and a file read relative to the runbook's folder", async (t) => {
  const dir = await tempDir(t);
  // Every byte value: not valid UTF-8, so a body decoded as text on the way would not compare equal.
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await mkdir(join(dir, "fixtures"));
  await writeFile(join(dir, "fixtures", "evidence.pdf"), bytes);
  let uploads = 0;
  const base = await serve(t, async (req, res, _body, raw) => {
    try {
      const form = await parseForm(req, raw);
      const file = form.get("file");
      if (!(file instanceof File)) return json(res, { error: "no file part" }, 400);
      const sameBytes = Buffer.from(await file.arrayBuffer()).equals(bytes);
      if (sameBytes) uploads++;
      json(
        res,
        {
          type: req.headers["content-type"],
          filename: file.name,
          fileType: file.type,
          sameBytes,
          questionId: form.get("questionId"),
        },
        201,
      );
    } catch (err) {
      json(res, { error: String(err) }, 400);
    }
  });
  const capture = {
    type: "$.type",
    filename: "$.filename",
    fileType: "$.fileType",
    sameBytes: "$.sameBytes",
    questionId: "$.questionId",
  };

  const m = await httpProbe.measure(
    probe({
      url: `${base}/evidence`,
      method: "POST",
      multipart: {
        file: { file: "fixtures/evidence.pdf", contentType: "application/pdf" },
        questionId: "789",
      },
      expect: { status: 201 },
      capture,
    }),
    { dir },
  );
  assert.equal(m.phase, "successful", m.message);
  const { type, ...rest } = m.captures ?? {};
  assert.match(String(type), /^multipart\/form-data; boundary=/, "fetch writes the boundary");
  assert.deepEqual(rest, {
    filename: "evidence.pdf",
    fileType: "application/pdf",
    sameBytes: true,
    questionId: "789",
  });

  // Without a folder, paths start at the current directory; every sample sends the whole file.
  const fromCwd = relative(process.cwd(), join(dir, "fixtures", "evidence.pdf"));
  const again = await httpProbe.measure(
    probe({
      url: `${base}/evidence`,
      method: "POST",
      multipart: { file: { file: fromCwd } },
      expect: { status: 201 },
      samples: 2,
      capture,
    }),
    {},
  );
  assert.equal(again.phase, "successful", again.message);
  assert.equal(again.captures?.fileType, "application/octet-stream");
  assert.equal(uploads, 3);
});

test("a multipart file that cannot be read is an error, and nothing is sent", async (t) => {
  const dir = await tempDir(t);
  let hits = 0;
  const base = await serve(t, (_req, res) => {
    hits++;
    json(res, {});
  });
  const upload = (file: string) =>
    httpProbe.measure(probe({ url: base, method: "POST", multipart: { note: "x", file: { file } } }), {
      dir,
    });
  const missing = await upload("missing.pdf");
  assert.equal(missing.phase, "error");
  assert.equal(
    missing.message,
    `POST ${base}: multipart field file: cannot read ${join(dir, "missing.pdf")}: no such file`,
  );
  const folder = await upload(".");
  assert.equal(folder.phase, "error");
  assert.match(folder.message, /multipart field file: cannot read .*: it is a folder, not a file$/);
  assert.equal(hits, 0);
});

/** An export service: POST /jobs starts a job, GET /jobs/<id> says how far it is, /result is the file. */
async function exportServer(t: TestContext, result: (res: ServerResponse) => void) {
  const seen: string[] = [];
  let polls = 0;
  const base = await serve(t, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === "POST" && req.url === "/jobs") return json(res, { id: "job 7" }, 202);
    if (req.url === "/jobs/job%207") return json(res, { status: ++polls < 3 ? "running" : "done" });
    if (req.url === "/jobs/job%207/result") return result(res);
    json(res, { error: "not found" }, 404);
  });
  return { base, seen };
}

function pdf(size: number) {
  return (res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/pdf; name=result.pdf" });
    res.end(Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(size - 9, 0x20)]));
  };
}

function exportProbe(base: string, download: Record<string, unknown> = {}) {
  return probe({
    url: `${base}/jobs`,
    method: "POST",
    json: { format: "pdf" },
    expect: { status: 202 },
    capture: { id: "$.id" },
    poll: {
      url: `${base}/jobs/{{ captures.id }}`,
      path: "$.status",
      until: "done",
      interval: "10ms",
      timeout: "2s",
    },
    download: {
      url: `${base}/jobs/{{ captures.id }}/result`,
      contentType: "application/pdf",
      minBytes: 1024,
      ...download,
    },
  });
}

test("an async job: start it, poll it until done, download the result", async (t) => {
  const { base, seen } = await exportServer(t, pdf(4096));
  const m = await httpProbe.measure(exportProbe(base), {});
  assert.equal(m.phase, "successful", m.message);
  assert.match(
    m.message,
    /^POST .*\/jobs → 202 in \d+ ms; \$\.status became done \(3 polls, \d+ ms\); download GET http:\/\/127\.0\.0\.1:\d+\/jobs\/job%207\/result → 200, application\/pdf, 4096 bytes in \d+ ms$/,
  );
  assert.equal(m.value, 202);
  assert.deepEqual(m.captures, { id: "job 7" });
  const download = m.detail?.download as Record<string, unknown>;
  assert.equal(download.status, 200);
  assert.equal(download.contentType, "application/pdf; name=result.pdf");
  assert.equal(download.bytes, 4096);
  assert.equal(typeof download.latencyMs, "number");
  assert.equal(m.detail?.polls, 3);
  assert.deepEqual(seen, [
    "POST /jobs",
    "GET /jobs/job%207",
    "GET /jobs/job%207",
    "GET /jobs/job%207",
    "GET /jobs/job%207/result",
  ]);
});

test("a download that is too small, of another type or missing fails", async (t) => {
  const small = await exportServer(t, pdf(512));
  const tooSmall = await httpProbe.measure(exportProbe(small.base), {});
  assert.equal(tooSmall.phase, "failed");
  assert.match(
    tooSmall.message,
    /^download GET .*\/jobs\/job%207\/result → 200, application\/pdf, 512 bytes, expected at least 1024 bytes$/,
  );
  assert.equal((tooSmall.detail?.download as { bytes?: number } | undefined)?.bytes, 512);
  assert.deepEqual(tooSmall.captures, { id: "job 7" }, "the request's captures are kept");

  const html = await exportServer(t, (res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<html>${" ".repeat(2000)}</html>`);
  });
  const wrongType = await httpProbe.measure(exportProbe(html.base), {});
  assert.equal(wrongType.phase, "failed");
  assert.match(wrongType.message, /→ 200, text\/html, 2013 bytes, expected application\/pdf$/);
  const anyText = await httpProbe.measure(exportProbe(html.base, { contentType: "text/*" }), {});
  assert.equal(anyText.phase, "successful", anyText.message);

  const gone = await exportServer(t, (res) => json(res, { error: "not found" }, 404));
  const notFound = await httpProbe.measure(exportProbe(gone.base), {});
  assert.equal(notFound.phase, "failed");
  assert.match(notFound.message, /result → 404, application\/json, \d+ bytes, expected a 2xx status$/);
});

test("a download without an answer, or with a capture it does not have, is an error", async (t) => {
  const { base } = await exportServer(t, pdf(4096));
  const port = await closedPort();
  const refused = await httpProbe.measure(
    exportProbe(base, { url: `http://127.0.0.1:${port}/result/{{ captures.id }}` }),
    {},
  );
  assert.equal(refused.phase, "error");
  assert.equal(refused.message, `download GET http://127.0.0.1:${port}/result/job%207: connection refused`);

  const unknown = await httpProbe.measure(exportProbe(base, { url: `${base}/{{ captures.nope }}` }), {});
  assert.equal(unknown.phase, "error");
  assert.match(unknown.message, /captures\.nope was not captured by this request$/);
});

test("samples give nearest-rank percentiles and the error rate, judged against the budget", async (t) => {
  let n = 0;
  // Ten latencies from about 2 to 38 ms; the seventh request of every ten fails.
  const base = await serve(t, (_req, res) => {
    const i = n++ % 10;
    setTimeout(() => json(res, {}, i === 6 ? 503 : 200), 2 + i * 4);
  });
  const measure = (budget: Record<string, unknown>) =>
    httpProbe.measure(probe({ url: `${base}/api/items`, samples: 10, budget }), {});

  const within = await measure({ p95: "5s", errorRate: "10%" });
  assert.equal(within.phase, "successful", within.message);
  assert.match(
    within.message,
    /→ 10 samples, p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms, 1 failed \(10%, within budget\)$/,
  );
  const d = within.detail as Record<string, number>;
  assert.equal(d.samples, 10);
  assert.equal(d.failed, 1);
  assert.equal(d.errorRate, 0.1);
  assert.equal(d.status, 200);
  for (const key of ["p50", "p95", "p99", "max"]) assert.equal(typeof d[key], "number", key);
  assert.ok(d.p50! <= d.p95! && d.p95! <= d.p99! && d.p99! <= d.max!);
  assert.equal(d.p95, d.max, "nearest rank: with 10 samples p95 is the slowest sample");
  assert.equal(d.p99, d.max);
  assert.ok(d.p50! >= 10 && d.max! >= 30, "p50 is the 5th of ten latencies");
  assert.deepEqual(within.detail?.budget, { p95: 5000, errorRate: 0.1 });

  const strict = await measure({ p95: "5s", errorRate: "5%" });
  assert.equal(strict.phase, "failed");
  assert.match(
    strict.message,
    /^error rate 10% > budget 5% over 10 samples; first failure: GET .*\/api\/items → 503, expected 200$/,
  );
  assert.equal(strict.detail?.errorRate, 0.1);

  const slow = await measure({ p99: "1ms", errorRate: 0.2 });
  assert.equal(slow.phase, "failed");
  assert.match(slow.message, /^p99 \d+ ms > budget 1 ms over 10 samples$/);

  const noBudget = await measure({});
  assert.equal(noBudget.phase, "failed", "without an error budget any failure fails");
  assert.match(noBudget.message, /^1 of 10 samples failed; first: /);
});
