/**
 * The prometheus probe against Debian's real Prometheus server scraping a local service every
 * second: instant and range queries, the results that cannot be measured, and the source's
 * headers (through a local proxy that requires them).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import {
  type MetricsService,
  type PrometheusServer,
  serveMetrics,
  startPrometheus,
} from "../../test/helpers/prometheus-server.js";
import { spec } from "./conformance.js";
import { prometheusProbe } from "./prometheus.js";
import { listen } from "./test-support.js";
import type { Measurement, MetricSource, ProbeContext } from "./types.js";

const TOKEN = "proxy-bearer-token";

describe("prometheus probe", () => {
  const stops: Array<() => unknown> = [];
  const cleanup = (stop: () => unknown) => stops.push(stop);
  let app: MetricsService;
  let prometheus: PrometheusServer;
  let context: ProbeContext;
  const proxied: Array<string | undefined> = [];

  before(async () => {
    app = await serveMetrics(cleanup);
    app.set("app_requests_total", 10, { code: "200" });
    app.set("app_requests_total", 2, { code: "500" });
    app.set("app_queue_depth", 5);
    prometheus = await startPrometheus({ targets: [app.target] });
    cleanup(() => prometheus.stop());
    await prometheus.waitForSample("sum(app_requests_total)", (v) => v === 12);
    await prometheus.waitForSample("app_queue_depth", (v) => v === 5);

    // Prometheus has no auth of its own: a proxy under /prom that wants a bearer token, as a
    // Prometheus behind an authenticating gateway.
    const upstream = new URL(prometheus.url);
    const proxyPort = await listen(
      http.createServer((req, res) => {
        proxied.push(req.headers.authorization);
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401, { "content-type": "text/plain" });
          res.end("missing or wrong bearer token");
          return;
        }
        const forward = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            path: req.url!.replace(/^\/prom/, ""),
            method: req.method,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on("error", () => res.writeHead(502).end());
        req.pipe(forward);
      }),
      cleanup,
    );
    const metrics: Record<string, MetricSource> = {
      prom: { type: "prometheus", url: prometheus.url, headers: {} },
      gateway: {
        type: "prometheus",
        url: `http://127.0.0.1:${proxyPort}/prom/`,
        headers: { Authorization: `Bearer ${TOKEN}` },
      },
      "gateway-no-token": { type: "prometheus", url: `http://127.0.0.1:${proxyPort}/prom`, headers: {} },
    };
    context = { env: { name: "staging", metrics } };
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const measure = (input: Record<string, unknown>): Promise<Measurement> =>
    prometheusProbe.measure(
      spec({ type: "prometheus", source: "prom", timeout: "10s", ...input }) as never,
      context,
    );

  it("reads an instant value and judges it", async () => {
    const ok = await measure({ query: "sum(app_requests_total)", expect: "== 12" });
    assert.equal(ok.phase, "successful", ok.message);
    assert.equal(ok.value, 12);
    assert.equal(ok.message, "sum(app_requests_total) = 12 (expected == 12)");

    const ratio = await measure({
      query: 'sum(app_requests_total{code=~"5.."}) / sum(app_requests_total)',
      expect: "< 5%",
    });
    assert.equal(ratio.phase, "failed", ratio.message);
    assert.ok(Math.abs((ratio.value as number) - 2 / 12) < 1e-9);
    assert.match(ratio.message, /= 0\.1667, expected < 5%$/);

    const noExpect = await measure({ query: "app_queue_depth" });
    assert.equal(noExpect.phase, "successful");
    assert.equal(noExpect.value, 5);
    assert.equal((noExpect.detail?.labels as Record<string, string> | undefined)?.job, "app");
  });

  it("reads a scalar result", async () => {
    const m = await measure({ query: "scalar(sum(app_requests_total)) * 2", expect: 24 });
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 24);
  });

  it("reduces a range query's points by max, min, avg or last", async () => {
    app.set("app_queue_depth", 9);
    await prometheus.waitForSample("app_queue_depth", (v) => v === 9);
    app.set("app_queue_depth", 2);
    await prometheus.waitForSample("app_queue_depth", (v) => v === 2);
    const range = (reduce: string, expect?: string) =>
      measure({ query: "app_queue_depth", range: "2m", step: "1s", reduce, ...(expect ? { expect } : {}) });

    const max = await range("max", "< 8");
    assert.equal(max.phase, "failed", max.message);
    assert.equal(max.value, 9);
    assert.match(max.message, /^max of app_queue_depth over 2m = 9 \(\d+ points\), expected < 8$/);
    assert.ok((max.detail?.points as number) >= 3);

    const min = await range("min");
    assert.equal(min.value, 2);
    const last = await range("last", "== 2");
    assert.equal(last.phase, "successful", last.message);
    const avg = await range("avg");
    assert.ok((avg.value as number) > 2 && (avg.value as number) < 9, avg.message);
  });

  it("passes Prometheus's own refusal on: bad PromQL, too many points", async () => {
    const bad = await measure({ query: "sum(rate(app_requests_total[5m])", expect: "< 1" });
    assert.equal(bad.phase, "error");
    assert.match(bad.message, /→ 400: Prometheus refused the query \(bad_data\): .*parse error/);

    const fine = await measure({ query: "sum(app_requests_total)", range: "2d", step: "1s" });
    assert.equal(fine.phase, "error");
    assert.match(fine.message, /bad_data.*exceeded maximum resolution/);
  });

  it("is an error when the query does not return exactly one number", async () => {
    const two = await measure({ query: "app_requests_total", expect: "< 100" });
    assert.equal(two.phase, "error");
    assert.match(two.message, /^app_requests_total returned 2 series \(app_requests_total\{code="200"/);
    assert.match(two.message, /write a query returning one series, e.g. sum\(\.\.\.\)$/);

    const twoInRange = await measure({ query: "app_requests_total", range: "1m", step: "5s" });
    assert.equal(twoInRange.phase, "error");
    assert.match(twoInRange.message, /returned 2 series/);

    const none = await measure({ query: 'sum(app_requests_total{code="503"})', expect: "< 1" });
    assert.equal(none.phase, "error");
    assert.match(none.message, /returned no series.*or vector\(0\)/);
    const zero = await measure({ query: 'sum(app_requests_total{code="503"}) or vector(0)', expect: "< 1" });
    assert.equal(zero.phase, "successful", zero.message);

    const nan = await measure({ query: "vector(0) / 0" });
    assert.equal(nan.phase, "error");
    assert.match(nan.message, /is NaN/);

    const matrix = await measure({ query: "app_queue_depth[1m]" });
    assert.equal(matrix.phase, "error");
    assert.match(matrix.message, /range vector; wrap it in a function/);

    const text = await measure({ query: '"hello"' });
    assert.equal(text.phase, "error");
    assert.match(text.message, /returns a string/);
  });

  it("sends the source's headers, under the source's base path", async () => {
    const m = await measure({ source: "gateway", query: "sum(app_requests_total)", expect: 12 });
    assert.equal(m.phase, "successful", m.message);
    assert.equal(proxied.at(-1), `Bearer ${TOKEN}`);

    const refused = await measure({ source: "gateway-no-token", query: "sum(app_requests_total)" });
    assert.equal(refused.phase, "error");
    assert.match(
      refused.message,
      /\/prom\/api\/v1\/query → 401 unauthorized: check the source's headers \(missing or wrong bearer token\)$/,
    );
  });

  it("names the sources there are when the one asked for is missing or of another type", async () => {
    const missing = await measure({ source: "thanos", query: "up" });
    assert.equal(missing.phase, "error");
    assert.match(
      missing.message,
      /^no metric source thanos in the environment staging \(it has prom \(prometheus\)/,
    );
    const none = await prometheusProbe.measure(
      spec({ type: "prometheus", source: "prom", query: "up" }) as never,
      {},
    );
    assert.match(none.message, /no metric source prom in the environment \(it has none\)/);
  });
});
