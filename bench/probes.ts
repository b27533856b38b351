/**
 * Probe figures for `npm run bench`: 100 mixed checks against loopback services at once, the
 * http probe's reported latency against a bare request timed in the same process (against an
 * endpoint with a fixed service time: the probe reports whole milliseconds), and a
 * 10-endpoint smoke suite against the same requests as a sequential curl script.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { measure } from "../src/probes/index.js";
import { Probe } from "../src/runbook/schema/probes.js";
import type { Row } from "./engine.js";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The /slow endpoint's service time, and how many probe/fetch pairs are timed against it. */
const SERVICE_MS = 20;
const LATENCY_RUNS = 100;

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

export async function probeRows(): Promise<Row[]> {
  const rows: Row[] = [];
  let hits = 0;
  const http = createServer((req, res) => {
    hits++;
    if (req.url === "/slow") {
      // A fixed service time, so latencies are in the range whole milliseconds can tell apart.
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: "ok", version: "1.0.0", path: req.url }));
      }, SERVICE_MS);
    } else if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(
        `# TYPE http_requests_total counter\nhttp_requests_total{code="200"} ${hits}\nhttp_requests_total{code="500"} 1\n`,
      );
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", version: "1.0.0", path: req.url }));
    }
  });
  const tcp = createTcpServer((socket) => socket.end());
  const httpPort = await listen(http);
  const tcpPort = await listen(tcp);
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    // 100 mixed checks, all at once: JSON health with a body assertion, a metrics ratio, a TCP connect, a command.
    const specs: Probe[] = [];
    for (let i = 0; i < 25; i++) {
      specs.push(
        Probe.parse({
          type: "http",
          url: `${base}/health/${i}`,
          expect: { body: [{ path: "$.status", equals: "ok" }] },
        }),
        Probe.parse({
          type: "metrics",
          url: `${base}/metrics`,
          ratio: { numerator: 'http_requests_total{code="500"}', denominator: "http_requests_total" },
          expect: "< 0.5",
        }),
        Probe.parse({ type: "tcp", host: "127.0.0.1", port: tcpPort }),
        Probe.parse({ type: "http", url: `${base}/api/${i}`, expect: { status: [200, 401] } }),
      );
    }
    await Promise.all(specs.slice(0, 8).map((s) => measure(s))); // warm up
    const walls: number[] = [];
    let failures = 0;
    for (let run = 0; run < 5; run++) {
      const t = performance.now();
      const results = await Promise.all(specs.map((s) => measure(s)));
      walls.push(performance.now() - t);
      failures += results.filter((m) => m.phase !== "successful").length;
    }
    rows.push([
      `100 mixed checks at once against loopback (http, metrics, tcp; median of 5${failures ? `, ${failures} not successful` : ""})`,
      `${median(walls).toFixed(0)} ms`,
      "≤ 1 s",
      "npm run bench",
    ]);

    // The http probe's latency vs a bare fetch of the same endpoint, interleaved. The probe
    // reports whole milliseconds (src/probes/shared.ts rounds), so against a loopback answer
    // that takes under a millisecond it reports 0 and the comparison means nothing: the
    // endpoint takes SERVICE_MS to answer, and rounding is then worth at most 0.5 ms of it.
    // A budget makes the probe report its latency in detail (latencyMs, the one sample's).
    const probe = Probe.parse({ type: "http", url: `${base}/slow`, budget: { max: "10s" } });
    const reported: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const m = await measure(probe);
      const detail = m.detail as { latencyMs?: number; max?: number } | undefined;
      reported.push(Number(detail?.latencyMs ?? detail?.max ?? Number.NaN));
      const t = performance.now();
      const r = await fetch(`${base}/slow`);
      await r.arrayBuffer();
      bare.push(performance.now() - t);
    }
    const probeMs = median(reported.filter((x) => Number.isFinite(x)));
    const bareMs = median(bare);
    rows.push([
      `http probe's reported latency vs a bare fetch, same endpoint answering in ${SERVICE_MS} ms (probe: whole ms; median of ${LATENCY_RUNS} each)`,
      Number.isFinite(probeMs)
        ? `${probeMs.toFixed(2)} vs ${bareMs.toFixed(2)} ms (${(((probeMs - bareMs) / bareMs) * 100).toFixed(0)}%)`
        : `no latency in detail; bare ${bareMs.toFixed(2)} ms`,
      "within 10%",
      "npm run bench",
    ]);

    // Seed 002's table: 10 endpoints, one request each, in order — as smoke runs them, and as curl would.
    const endpoints = Array.from({ length: 10 }, (_, i) => `${base}/endpoint/${i}`);
    const smoke = endpoints.map((url) => Probe.parse({ type: "http", url, budget: { p95: "500ms" } }));
    const smokeTimes: number[] = [];
    for (let run = 0; run < 5; run++) {
      const t = performance.now();
      for (const s of smoke) await measure(s);
      smokeTimes.push(performance.now() - t);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-curl-"));
    const script = path.join(dir, "smoke.sh");
    fs.writeFileSync(
      script,
      `set -e\n${endpoints.map((u) => `curl -fsS -o /dev/null -w '%{http_code}\\n' ${u} >/dev/null`).join("\n")}\n`,
    );
    const curlTimes: number[] = [];
    let curlNote = "";
    for (let run = 0; run < 5; run++) {
      // Asynchronously: the server answering curl runs in this process.
      const t = performance.now();
      try {
        await promisify(execFile)("sh", [script]);
      } catch (e) {
        curlNote = ` (the curl script failed: ${(e as Error).message.split("\n")[0]})`;
      }
      curlTimes.push(performance.now() - t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const s = median(smokeTimes);
    const c = median(curlTimes);
    rows.push([
      "10-endpoint smoke suite vs the same requests as a sequential curl script (median of 5)",
      `${s.toFixed(0)} vs ${c.toFixed(0)} ms (ratio ${(s / c).toFixed(2)})${curlNote}`,
      "printed",
      "npm run bench",
    ]);
  } finally {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await new Promise((resolve) => tcp.close(resolve));
  }
  return rows;
}
