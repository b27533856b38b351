/**
 * Tests of the metrics probe: selectors, the exposition reader, and gauge/rate/ratio against
 * a real /metrics server on 127.0.0.1 (port 0).
 */

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { MetricsProbe } from "../runbook/schema/probes.js";
import {
  type MetricsState,
  matches,
  metricsProbe,
  parseMetricsText,
  parseSelector,
  type Selector,
} from "./metrics.js";

/** Serves whatever `text()` returns at the time of the request. */
async function serveMetrics(t: TestContext, text: () => string, status = 200): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain; version=0.0.4" });
    res.end(text());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

function probe(input: Record<string, unknown>) {
  return MetricsProbe.parse({ type: "metrics", timeout: "500ms", ...input });
}

/** A previous state `seconds` ago, as if the last measurement returned it then. */
function earlier(state: unknown, seconds: number): MetricsState {
  const s = state as MetricsState;
  return { at: s.at - seconds * 1000, counters: s.counters };
}

const EXPOSITION = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 900
http_requests_total{method="POST",code="200"} 80
http_requests_total{method="GET",code="500"} 15
http_requests_total{method="GET",code="503"} 5
# TYPE queue_depth gauge
queue_depth{queue="a"} 3
queue_depth{queue="b"} 4.5
# TYPE request_seconds histogram
request_seconds_bucket{route="/a",le="0.5"} 7
request_seconds_bucket{route="/a",le="+Inf"} 10
request_seconds_sum{route="/a"} 3.2
request_seconds_count{route="/a"} 10
request_seconds_bucket{route="/b",le="0.5"} 1
request_seconds_bucket{route="/b",le="+Inf"} 2
request_seconds_sum{route="/b"} 1.1
request_seconds_count{route="/b"} 2
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.99"} 0.25
rpc_seconds_count 40
up 1`;

function sel(text: string): Selector {
  const s = parseSelector(text);
  assert.ok(typeof s !== "string", s as string);
  return s;
}

test("selectors: names and the four label matchers, regexes anchored", () => {
  const s = sel('http_requests_total{code=~"5..", method!="POST" ,}');
  assert.equal(s.name, "http_requests_total");
  assert.deepEqual(
    s.matchers.map((m) => [m.label, m.op, m.value]),
    [
      ["code", "=~", "5.."],
      ["method", "!=", "POST"],
    ],
  );
  const series = (code: string) => ({
    name: "http_requests_total",
    labels: { code, method: "GET" },
    value: 1,
  });
  assert.ok(matches(s, series("500")));
  assert.ok(!matches(s, series("5000")), "=~ matches the whole value");
  assert.ok(!matches(s, series("1500")));
  assert.ok(matches(sel('http_requests_total{code!~"2.."}'), series("503")));
  assert.ok(matches(sel('http_requests_total{zone=""}'), series("200")), "a missing label is empty");
  assert.ok(matches(sel(`http_requests_total{code='200'}`), series("200")));
  assert.equal(sel('a{path="C:\\\\dir"}').matchers[0]!.value, "C:\\dir");

  for (const bad of ['x{code="5"', "x{code=5}", 'x{a="1" b="2"}', 'x{code=~"("}', 'x{a="\\d"}', "1x"]) {
    assert.equal(typeof parseSelector(bad), "string", bad);
  }
});

test("the exposition reader keeps every series under its exposed name", () => {
  const series = parseMetricsText(EXPOSITION);
  assert.ok(Array.isArray(series));
  const total = (name: string) => series.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  assert.equal(total("request_seconds_count"), 12, "labelled histogram counts survive");
  assert.equal(series.filter((s) => s.name === "request_seconds_bucket").length, 4);
  assert.equal(total("rpc_seconds_count"), 40);
  assert.equal(total("up"), 1, "the last line is read without a trailing newline");
  assert.deepEqual(parseMetricsText('a{x="1"} +Inf\nb NaN\nc -1.5e3 1700000000000\n').valueOf(), [
    { name: "a", labels: { x: "1" }, value: Number.POSITIVE_INFINITY },
    { name: "b", labels: {}, value: Number.NaN },
    { name: "c", labels: {}, value: -1500 },
  ]);
  const garbage = [
    "<!DOCTYPE html><html>oops</html>",
    '{"status":"ok"}',
    "Service Unavailable",
    'x{a="1" 2',
    "up 1\n{} 2",
  ];
  for (const text of garbage) {
    assert.equal(typeof parseMetricsText(text), "string", text);
  }
});

test("gauge: sums matching series; expect decides", async (t) => {
  const url = await serveMetrics(t, () => EXPOSITION);
  const m = await metricsProbe.measure(probe({ url, gauge: "queue_depth" }), {});
  assert.equal(m.phase, "successful");
  assert.equal(m.value, 7.5);
  assert.equal(m.message, "queue_depth = 7.5");
  assert.ok(m.state);

  const high = await metricsProbe.measure(probe({ url, gauge: 'queue_depth{queue="b"}', expect: "< 4" }), {});
  assert.equal(high.phase, "failed");
  assert.equal(high.message, 'queue_depth{queue="b"} = 4.5, expected < 4');

  const hist = await metricsProbe.measure(
    probe({ url, gauge: 'request_seconds_count{route="/b"}', expect: 2 }),
    {},
  );
  assert.equal(hist.phase, "successful");

  const none = await metricsProbe.measure(probe({ url, gauge: 'queue_depth{queue="z"}' }), {});
  assert.equal(none.phase, "error");
  assert.match(none.message, /no series match queue_depth\{queue="z"\}/);
});

test("rate: the first sample is inconclusive, then per-second increase; a reset counts from zero", async (t) => {
  let requests = 1000;
  const url = await serveMetrics(t, () => `http_requests_total{code="200"} ${requests}\n`);
  const spec = probe({ url, rate: "http_requests_total", expect: "< 50" });

  const first = await metricsProbe.measure(spec, {});
  assert.equal(first.phase, "inconclusive");
  assert.match(first.message, /first sample; a rate needs two$/);
  assert.equal(first.value, undefined);

  requests = 1300;
  const second = await metricsProbe.measure(spec, { previous: earlier(first.state, 10) });
  assert.equal(second.phase, "successful");
  assert.ok(Math.abs((second.value as number) - 30) < 0.5, String(second.value));

  requests = 1900;
  const fast = await metricsProbe.measure(spec, { previous: earlier(second.state, 10) });
  assert.equal(fast.phase, "failed");
  assert.match(
    fast.message,
    /^rate\(http_requests_total\) = [56]\d(\.\d+)?\/s over 10(\.\d+)?s, expected < 50$/,
  );

  requests = 200;
  const reset = await metricsProbe.measure(spec, { previous: earlier(fast.state, 10) });
  assert.ok(Math.abs((reset.value as number) - 20) < 0.5);
  assert.match(reset.message, /counter reset/);

  assert.equal((await metricsProbe.measure(spec, { previous: "garbage" })).phase, "inconclusive");
});

test("ratio: totals first, then increases; no traffic is inconclusive; an absent numerator is 0", async (t) => {
  let errors = 5;
  let total = 100;
  let withErrors = true;
  const url = await serveMetrics(
    t,
    () =>
      `# TYPE http_requests_total counter\nhttp_requests_total{code="200"} ${total - errors}\n` +
      (withErrors ? `http_requests_total{code="500"} ${errors}\n` : ""),
  );
  const spec = probe({
    url,
    ratio: { numerator: 'http_requests_total{code=~"5.."}', denominator: "http_requests_total" },
    expect: "< 10%",
  });

  const first = await metricsProbe.measure(spec, {});
  assert.equal(first.phase, "successful");
  assert.equal(first.value, 0.05);
  assert.match(first.message, /\(5 \/ 100, totals, first sample\)/);

  errors = 25;
  total = 200;
  const second = await metricsProbe.measure(spec, { previous: earlier(first.state, 30) });
  assert.equal(second.phase, "failed");
  assert.equal(second.value, 0.2);
  assert.match(second.message, /= 0\.2 \(20 \/ 100, over 30(\.\d+)?s\), expected < 10%$/);

  const idle = await metricsProbe.measure(spec, { previous: earlier(second.state, 30) });
  assert.equal(idle.phase, "inconclusive");
  assert.equal(idle.message, "no increase in http_requests_total between samples");

  withErrors = false;
  errors = 0;
  total = 50;
  const absent = await metricsProbe.measure(spec, { previous: earlier(idle.state, 30) });
  assert.equal(absent.phase, "successful", absent.message);
  assert.equal(absent.value, 0);
  assert.match(absent.message, /totals, counter reset.*counted as 0/);

  const noFamily = await metricsProbe.measure(
    probe({ url, ratio: { numerator: "errors_total", denominator: "requests_total" } }),
    {},
  );
  assert.equal(noFamily.phase, "error");
  assert.match(noFamily.message, /no series match requests_total/);
});

test("an error keeps the previous state for the next measurement", async (t) => {
  const url = await serveMetrics(t, () => "<html>bad gateway</html>", 200);
  const previous: MetricsState = { at: Date.now() - 5000, counters: { x_total: 3 } };
  const m = await metricsProbe.measure(probe({ url, rate: "x_total" }), { previous });
  assert.equal(m.phase, "error");
  assert.match(m.message, /not Prometheus text/);
  assert.deepEqual(m.state, previous);
});

test("bad responses and bad specs are errors", async (t) => {
  const down = await serveMetrics(t, () => "oops", 503);
  const m = await metricsProbe.measure(probe({ url: down, gauge: "up" }), {});
  assert.equal(m.phase, "error");
  assert.match(m.message, /→ 503, expected metrics/);

  const empty = await serveMetrics(t, () => "# nothing here\n");
  assert.match(
    (await metricsProbe.measure(probe({ url: empty, gauge: "up" }), {})).message,
    /no metrics in the response/,
  );

  const two = await metricsProbe.measure(probe({ url: down, gauge: "up", rate: "x_total" }), {});
  assert.equal(two.phase, "error");
  assert.match(two.message, /give exactly one of gauge, rate or ratio/);

  const badRe = await metricsProbe.measure(probe({ url: down, gauge: 'up{job=~"("}' }), {});
  assert.equal(badRe.phase, "error");
  assert.match(badRe.message, /bad regular expression/);
});
