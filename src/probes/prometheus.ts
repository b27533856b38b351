/**
 * The prometheus probe: one PromQL query through the Prometheus HTTP API of one of the
 * environment's metric sources (`environments.<env>.metrics.<name>`, type prometheus), with the
 * source's headers (Authorization for a Prometheus behind a proxy).
 *
 * Instant: GET /api/v1/query?query=… (evaluated now). With `range`: GET /api/v1/query_range
 * from now - range to now every `step`, the points reduced to one value by `reduce` (max, min,
 * avg, last; NaN points are left out).
 *
 * The query must return one number: a scalar, or an instant vector (a matrix with `range`) of
 * exactly one series. Anything else is an `error`, not a verdict, since nothing was measured:
 * - no series: the selector matched nothing, or `sum()` of nothing. A counter with labels has
 *   no series until it first counts, so write `sum(rate(x{code=~"5.."}[5m])) or vector(0)`;
 * - more than one series: aggregate them, e.g. `sum(...)` or `max(...)`;
 * - NaN, e.g. 0/0 with no traffic;
 * - Prometheus refusing the query (bad PromQL, a timeout): its errorType and error;
 * - 401/403: the source's headers.
 *
 * Also here, for the sentry and posthog probes: finding a metric source by name, and reading
 * the JSON answer of an HTTP API without letting a token through.
 */
import type { Comparison } from "../runbook/expression.js";
import type { Probe } from "../runbook/schema/probes.js";
import { clip, getJson, metricSource } from "./api.js";
import { checkUrl, displayUrl, guard, judge, num, type Outcome } from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type PrometheusSpec = Extract<Probe, { type: "prometheus" }>;

export const prometheusProbe: ProbeImplementation<"prometheus"> = {
  type: "prometheus",
  measure: (spec, context) => guard("prometheus", context, () => measurePrometheus(spec, context ?? {})),
};

async function measurePrometheus(spec: PrometheusSpec, context: ProbeContext): Promise<Outcome> {
  const source = metricSource(context, spec.source, "prometheus");
  if (typeof source === "string") return { phase: "error", message: source };
  if (typeof spec.query !== "string" || spec.query.trim() === "") {
    return { phase: "error", message: "give a PromQL query returning one value, e.g. sum(up)" };
  }
  const urlProblem = checkUrl(source.url);
  if (urlProblem) {
    return {
      phase: "error",
      message: `metric source ${spec.source}: ${displayUrl(source.url)}: ${urlProblem}`,
    };
  }
  const now = Date.now();
  const params = new URLSearchParams({ query: spec.query });
  let path = "/api/v1/query";
  if (spec.range) {
    if (!(spec.range.ms > 0) || !(spec.step?.ms > 0)) {
      return { phase: "error", message: "range and step must be longer than 0, e.g. range: 15m, step: 1m" };
    }
    path = "/api/v1/query_range";
    params.set("start", seconds(now - spec.range.ms));
    params.set("end", seconds(now));
    params.set("step", seconds(spec.step.ms));
  }
  const base = source.url.replace(/\/+$/, "");
  const headers = { accept: "application/json", ...source.headers };
  const answer = await getJson(
    `GET ${displayUrl(base)}${path}`,
    { method: "GET", url: `${base}${path}?${params}`, headers, timeout: spec.timeout },
    context.signal,
    {
      secrets: headerSecrets(source.headers),
      credentials: "headers",
      notFound: "url (the base URL, without /api/v1)",
      detail: prometheusError,
    },
  );
  if ("problem" in answer) return { phase: "error", message: answer.problem };
  const body = answer.json as PromResponse;
  const said = clip(spec.query.trim().replace(/\s+/g, " "));
  if (body?.status === "error") return { phase: "error", message: `${said}: ${prometheusError(body)}` };
  const data = body?.data;
  if (body?.status !== "success" || typeof data !== "object" || data === null) {
    return {
      phase: "error",
      message: `${answer.what}: not a Prometheus API answer (no status "success" and data)`,
    };
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
  const extra = warnings.length ? { warnings } : {};
  return spec.range ? rangeValue(spec, data, said, extra) : instantValue(data, said, spec.expect, extra);
}

interface PromResponse {
  status?: unknown;
  data?: { resultType?: unknown; result?: unknown };
  errorType?: unknown;
  error?: unknown;
  warnings?: unknown;
}

interface PromSeries {
  metric?: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

function instantValue(
  data: NonNullable<PromResponse["data"]>,
  said: string,
  expect: Comparison | undefined,
  extra: Record<string, unknown>,
): Outcome {
  const { resultType, result } = data;
  if (resultType === "scalar") return judgeSample(result, said, expect, extra);
  if (resultType === "string") {
    return { phase: "error", message: `${said} returns a string, not a number` };
  }
  if (resultType === "matrix") {
    return {
      phase: "error",
      message: `${said} returns a range vector; wrap it in a function, e.g. max_over_time(…[5m]), or set range:`,
    };
  }
  if (resultType !== "vector" || !Array.isArray(result)) {
    return { phase: "error", message: `${said}: unexpected result type ${JSON.stringify(resultType)}` };
  }
  const one = oneSeries(result as PromSeries[], said);
  if (typeof one === "string") return { phase: "error", message: one };
  return judgeSample(one.value, said, expect, { ...extra, labels: one.metric ?? {} });
}

function judgeSample(
  sample: unknown,
  said: string,
  expect: Comparison | undefined,
  detail: Record<string, unknown>,
): Outcome {
  const value = Array.isArray(sample) ? promNumber(sample[1]) : undefined;
  if (value === undefined)
    return { phase: "error", message: `${said}: unreadable sample ${clip(JSON.stringify(sample))}` };
  if (Number.isNaN(value)) {
    return { phase: "error", message: `${said} is NaN (e.g. 0/0 with no traffic); nothing to compare` };
  }
  return judge(value, `${said} = ${num(value)}`, expect, { detail });
}

function rangeValue(
  spec: PrometheusSpec,
  data: NonNullable<PromResponse["data"]>,
  said: string,
  extra: Record<string, unknown>,
): Outcome {
  const { resultType, result } = data;
  if (resultType !== "matrix" || !Array.isArray(result)) {
    return {
      phase: "error",
      message: `${said}: unexpected result type ${JSON.stringify(resultType)} for a range`,
    };
  }
  const one = oneSeries(result as PromSeries[], said);
  if (typeof one === "string") return { phase: "error", message: one };
  const points: number[] = [];
  for (const point of Array.isArray(one.values) ? one.values : []) {
    const v = Array.isArray(point) ? promNumber(point[1]) : undefined;
    if (v === undefined)
      return { phase: "error", message: `${said}: unreadable point ${clip(JSON.stringify(point))}` };
    if (!Number.isNaN(v)) points.push(v);
  }
  const over = `over ${spec.range!.text}`;
  if (points.length === 0) {
    return { phase: "error", message: `${said} has no points ${over} that are numbers (all NaN)` };
  }
  const value = reduce(spec.reduce, points);
  const detail = { ...extra, labels: one.metric ?? {}, points: points.length, step: spec.step.text };
  const message = `${spec.reduce} of ${said} ${over} = ${num(value)} (${points.length} points)`;
  return judge(value, message, spec.expect, { detail });
}

function reduce(how: PrometheusSpec["reduce"], points: number[]): number {
  switch (how) {
    case "min":
      return Math.min(...points);
    case "avg":
      return points.reduce((a, b) => a + b, 0) / points.length;
    case "last":
      return points[points.length - 1]!;
    default:
      return Math.max(...points);
  }
}

/** The only series of a result, or why there is not exactly one. */
function oneSeries(result: PromSeries[], said: string): PromSeries | string {
  if (result.length === 0) {
    return `${said} returned no series: nothing matched (add \`or vector(0)\` if none means 0)`;
  }
  if (result.length > 1) {
    const some = result.slice(0, 2).map((s) => labelsText(s.metric));
    const more = result.length > 2 ? ", …" : "";
    return `${said} returned ${result.length} series (${some.join(", ")}${more}); write a query returning one series, e.g. sum(...)`;
  }
  return result[0]!;
}

function labelsText(metric: Record<string, string> | undefined): string {
  const { __name__: name, ...labels } = metric ?? {};
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name ?? ""}{${pairs.join(", ")}}`;
}

/** Prometheus sends sample values as strings: "1", "0.5", "NaN", "+Inf", "-Inf". */
function promNumber(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  const v = Number(text);
  return text.trim() !== "" && Number.isFinite(v) ? v : undefined;
}

function prometheusError(json: unknown): string | undefined {
  const { errorType, error } = (json ?? {}) as PromResponse;
  if (typeof error !== "string") return undefined;
  return `Prometheus refused the query (${typeof errorType === "string" ? errorType : "error"}): ${error}`;
}

const SECRET_HEADER = /authorization|token|key|secret|cookie|session|password|credential/i;

/** Values of headers that carry credentials, and their last word (the token after `Bearer`). */
function headerSecrets(headers: Record<string, string>): string[] {
  const values = Object.entries(headers ?? {})
    .filter(([name, value]) => SECRET_HEADER.test(name) && typeof value === "string")
    .map(([, value]) => value);
  const words = values.map((v) => v.trim().split(/\s+/).at(-1) ?? "").filter((w) => w.length >= 8);
  return [...values, ...words];
}

function seconds(ms: number): string {
  return String(ms / 1000);
}
