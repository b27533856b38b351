/**
 * The http probe: sends a request (or `samples` of them, one after another) and checks the
 * answer against `expect` (status, content type, size, assertions on the JSON body) and an
 * optional latency and error `budget`; reads `value` and `capture` fields from the JSON body;
 * and can `poll` an asynchronous job until a field has a value.
 *
 * Verdicts: an expectation or budget that does not hold is `failed`. A request that got no
 * answer (timeout, connection refused, cancelled), a body that is not JSON where JSON is
 * needed, or a `value` or `capture` that cannot be read is `error`: nothing was measured.
 * Without `value`, the measured value is the status code.
 *
 * Not supported yet (answer `error`): multipart bodies and `download`.
 *
 */
import { setTimeout as sleep } from "node:timers/promises";
import { JSONPath } from "jsonpath-plus";
import { compare } from "../runbook/expression.js";
import type { Probe } from "../runbook/schema/probes.js";
import {
  checkUrl,
  displayUrl,
  errorText,
  type Fetched,
  guard,
  type HttpRequest,
  hasHeader,
  mediaType,
  type Outcome,
  send,
  show,
} from "./shared.js";
import type { Phase, ProbeContext, ProbeImplementation, Value } from "./types.js";

type HttpSpec = Extract<Probe, { type: "http" }>;
type BodyAssertion = HttpSpec["expect"]["body"][number];

export const httpProbe: ProbeImplementation<"http"> = {
  type: "http",
  measure: (spec, context) => guard("http", context, () => measureHttp(spec, context ?? {})),
};

/** One request's result, before the samples are summed up. */
interface Sample {
  phase: Phase;
  message: string;
  status?: number;
  latencyMs?: number;
  value?: Value;
  captures?: Record<string, Value>;
  cancelled?: boolean;
}

async function measureHttp(spec: HttpSpec, context: ProbeContext): Promise<Outcome> {
  const what = `${spec.method} ${displayUrl(spec.url)}`;
  const problem = checkSpec(spec);
  if (problem) return { phase: "error", message: `${what}: ${problem}` };
  const request = buildRequest(spec);
  const samples: Sample[] = [];
  for (let i = 0; i < spec.samples; i++) {
    if (context.signal?.aborted) return { phase: "error", message: `${what}: cancelled` };
    const sample = await takeSample(spec, request, what, context.signal);
    if (sample.cancelled) return { phase: "error", message: sample.message };
    samples.push(sample);
  }
  const result = summarize(spec, samples, what);
  if (result.phase !== "successful" || !spec.poll) return result;
  return followPoll(spec, result, context.signal);
}

function checkSpec(spec: HttpSpec): string | undefined {
  if (spec.multipart) return "multipart bodies are not supported yet";
  if (spec.download) return "download is not supported yet";
  const bodies = [spec.json, spec.form, spec.text].filter((b) => b !== undefined).length;
  if (bodies > 1) return "give one body: json, form or text";
  if (bodies > 0 && (spec.method === "GET" || spec.method === "HEAD")) {
    return `a ${spec.method} request cannot have a body`;
  }
  if (spec.poll && spec.samples > 1) return "poll works with a single sample (samples: 1)";
  return checkUrl(spec.url);
}

function buildRequest(spec: HttpSpec): HttpRequest {
  const headers = { ...spec.headers };
  const [body, type] = bodyOf(spec) ?? [];
  if (type && !hasHeader(headers, "content-type")) headers["content-type"] = type;
  // Expecting a redirect means looking at it, not following it.
  const redirect = expectedStatuses(spec).some((s) => s >= 300 && s < 400) ? "manual" : "follow";
  return { method: spec.method, url: spec.url, headers, body, timeout: spec.timeout, redirect };
}

/** The request body and its default content type. */
function bodyOf(spec: HttpSpec): [string, string] | undefined {
  if (spec.json !== undefined) return [JSON.stringify(spec.json), "application/json"];
  if (spec.form) return [new URLSearchParams(spec.form).toString(), "application/x-www-form-urlencoded"];
  if (spec.text !== undefined) return [spec.text, "text/plain; charset=utf-8"];
  return undefined;
}

async function takeSample(
  spec: HttpSpec,
  request: HttpRequest,
  what: string,
  signal: AbortSignal | undefined,
): Promise<Sample> {
  const sent = await send(request, signal);
  if (!sent.ok) return { phase: "error", message: `${what}: ${sent.message}`, cancelled: sent.cancelled };
  const r = sent.response;
  const head = `${what} → ${r.status}`;
  const sample = (phase: Phase, why: string): Sample => ({
    phase,
    message: `${head}, ${why}`,
    status: r.status,
    latencyMs: r.latencyMs,
  });

  const statuses = expectedStatuses(spec);
  if (!statuses.includes(r.status)) return sample("failed", `expected ${listOr(statuses.map(String))}`);
  const { contentType, minBytes, body } = spec.expect;
  if (contentType && !r.contentType.toLowerCase().startsWith(contentType.toLowerCase())) {
    return sample("failed", `content type ${r.contentType || "missing"}, expected ${contentType}`);
  }
  if (minBytes !== undefined && r.size < minBytes) {
    return sample("failed", `${r.size} bytes, expected at least ${minBytes}`);
  }

  let value: Value = r.status;
  const captures: Record<string, Value> = {};
  const captureNames = Object.keys(spec.capture);
  if (body.length > 0 || spec.value || captureNames.length > 0) {
    const parsed = readJson(r);
    if ("why" in parsed) return sample("error", parsed.why);
    try {
      for (const assertion of body) {
        const problem = checkAssertion(assertion, parsed.json);
        if (problem) return sample(problem.phase, problem.why);
      }
      if (spec.value) {
        const read = readOne(spec.value, parsed.json);
        if ("why" in read) return sample("error", `value ${read.why}`);
        value = read.value;
      }
      for (const name of captureNames) {
        const read = readOne(spec.capture[name]!, parsed.json);
        if ("why" in read) return sample("error", `capture ${name}: ${read.why}`);
        captures[name] = read.value;
      }
    } catch (err) {
      return sample("error", `cannot check the body: ${errorText(err)}`);
    }
  }
  return {
    phase: "successful",
    message: `${head} in ${r.latencyMs} ms`,
    status: r.status,
    latencyMs: r.latencyMs,
    value,
    captures,
  };
}

function expectedStatuses(spec: HttpSpec): number[] {
  const s = spec.expect.status;
  return Array.isArray(s) ? s : [s];
}

// ---------------------------------------------------------------------------------------
// JSON body

function readJson(r: Fetched): { json: unknown } | { why: string } {
  const kind = `${mediaType(r.contentType) || "no content type"}, ${r.size} bytes`;
  if (r.truncated) return { why: `body is too large to read as JSON (${kind})` };
  try {
    return { json: JSON.parse(new TextDecoder().decode(r.body)) };
  } catch {
    return { why: `body is not JSON (${kind})` };
  }
}

/** Every match of a JSONPath. */
function query(path: string, json: unknown): unknown[] {
  const found: unknown = JSONPath({ path, json: json as object, wrap: true });
  if (Array.isArray(found)) return found;
  // jsonpath-plus answers nothing for a falsy document (0, false, null, "").
  return path.trim() === "$" ? [json] : [];
}

/** The one value at a path (a `value:` or a capture). */
function readOne(path: string, json: unknown): { value: Value } | { why: string } {
  const found = query(path, json);
  if (found.length === 0) return { why: `${path} is missing` };
  if (found.length > 1) return { why: `${path} matches ${found.length} fields, expected one` };
  const v = found[0];
  if (!isValue(v)) return { why: `${path} is ${show(v)}, not a single value` };
  return { value: v };
}

/**
 * One `expect.body` entry. A missing field fails (unless `exists: false`); with a path that
 * matches several fields, every one must pass. `matches` is an unanchored regular expression.
 */
function checkAssertion(a: BodyAssertion, json: unknown): { phase: Phase; why: string } | undefined {
  const found = query(a.path, json);
  if (a.exists === false) {
    return found.length === 0
      ? undefined
      : failed(`${a.path} is ${show(found[0])}, expected it to be absent`);
  }
  if (found.length === 0) {
    const expected = expectation(a);
    return failed(`${a.path} is missing${expected ? `, expected ${expected}` : ""}`);
  }
  for (const v of found) {
    const is = `${a.path} is ${show(v)}`;
    if (a.equals !== undefined && v !== a.equals) return failed(`${is}, expected == ${word(a.equals)}`);
    if (a.matches !== undefined) {
      const re = new RegExp(a.matches);
      if (!(isValue(v) && v !== null && re.test(String(v)))) {
        return failed(`${is}, expected to match /${a.matches}/`);
      }
    }
    if (a.oneOf && !a.oneOf.some((x) => x === v)) {
      return failed(`${is}, expected one of ${a.oneOf.map(word).join(", ")}`);
    }
    if (a.expect) {
      const ok = compare(v, a.expect);
      if (ok === undefined) return { phase: "error", why: `${is}, cannot compare with ${a.expect.text}` };
      if (!ok) return failed(`${is}, expected ${a.expect.text}`);
    }
  }
  return undefined;
}

function failed(why: string): { phase: Phase; why: string } {
  return { phase: "failed", why };
}

function expectation(a: BodyAssertion): string {
  const parts: string[] = [];
  if (a.equals !== undefined) parts.push(`== ${word(a.equals)}`);
  if (a.matches !== undefined) parts.push(`to match /${a.matches}/`);
  if (a.oneOf) parts.push(`one of ${a.oneOf.map(word).join(", ")}`);
  if (a.expect) parts.push(a.expect.text);
  return parts.join(" and ");
}

function isValue(v: unknown): v is Value {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

// ---------------------------------------------------------------------------------------
// Samples and budget

function summarize(spec: HttpSpec, samples: Sample[], what: string): Outcome {
  const n = samples.length;
  const first = samples[0]!;
  if (samples.every((s) => s.phase === "error")) {
    return { phase: "error", message: n === 1 ? first.message : `all ${n} samples: ${first.message}` };
  }
  const failing = samples.filter((s) => s.phase !== "successful");
  const reading = [...samples].reverse().find((s) => s.phase === "successful") ?? samples[n - 1]!;
  const latencies = samples
    .flatMap((s) => (s.latencyMs === undefined ? [] : [s.latencyMs]))
    .sort((a, b) => a - b);
  const p = {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
  };
  const errorRate = failing.length / n;
  const detail: Record<string, unknown> =
    n === 1
      ? { status: first.status, latencyMs: first.latencyMs, samples: 1 }
      : { status: reading.status, samples: n, failed: failing.length, errorRate, percentiles: p };
  const reads: Outcome = { phase: "successful", message: "", detail };
  if (reading.phase === "successful") {
    reads.value = reading.value;
    if (reading.captures && Object.keys(reading.captures).length > 0) reads.captures = reading.captures;
  }

  const budget = spec.budget;
  const over = `over ${n} sample${n === 1 ? "" : "s"}`;
  const problems: string[] = [];
  if (budget?.errorRate !== undefined) {
    if (errorRate > budget.errorRate) {
      problems.push(
        `error rate ${percent(errorRate)} > budget ${percent(budget.errorRate)} ${over}; first failure: ${failing[0]!.message}`,
      );
    }
  } else if (failing.length > 0) {
    if (n === 1) {
      const status = spec.value ? {} : { value: first.status };
      return { phase: first.phase, message: first.message, ...status, detail };
    }
    problems.push(`${failing.length} of ${n} samples failed; first: ${failing[0]!.message}`);
  }
  for (const key of ["p50", "p95", "p99", "max"] as const) {
    const limit = budget?.[key];
    const actual = p[key];
    if (limit && actual !== undefined && actual > limit.ms) {
      problems.push(`${key} ${actual} ms > budget ${limit.ms} ms ${over}`);
    }
  }
  if (problems.length > 0) return { ...reads, phase: "failed", message: problems.join("; ") };
  if (n === 1) {
    return {
      ...reads,
      message: failing.length ? `${first.message} (within the error budget)` : first.message,
    };
  }
  const failures =
    failing.length > 0 ? `, ${failing.length} failed (${percent(errorRate)}, within budget)` : "";
  return {
    ...reads,
    message: `${what} → ${n} samples, p50 ${p.p50} ms, p95 ${p.p95} ms, max ${p.max} ms${failures}`,
  };
}

/** Nearest-rank percentile of sorted numbers. */
function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function percent(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

// ---------------------------------------------------------------------------------------
// Polling an asynchronous job

/**
 * GETs poll.url (default: the request URL) every poll.interval until poll.path equals
 * poll.until; poll.timeout passing first is `error`. `{{ captures.<name> }}` left in poll.url
 * is filled with this request's captures. Value and captures come from the first response.
 */
async function followPoll(
  spec: HttpSpec,
  result: Outcome,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  const poll = spec.poll!;
  const url = fillCaptures(poll.url ?? spec.url, result.captures ?? {});
  const target = `GET ${displayUrl(url)}`;
  const urlProblem = checkUrl(url);
  if (urlProblem) return { ...result, phase: "error", message: `poll ${target}: ${urlProblem}` };
  const request: HttpRequest = { method: "GET", url, headers: spec.headers, timeout: spec.timeout };
  const started = Date.now();
  let polls = 0;
  for (;;) {
    polls++;
    const sent = await send(request, signal);
    if (!sent.ok && sent.cancelled) {
      return { ...result, phase: "error", message: `poll ${target}: cancelled` };
    }
    const seen = sent.ok ? pollReading(sent.response, poll.path) : { why: sent.message };
    const elapsed = Date.now() - started;
    const detail = { ...result.detail, polls, pollMs: elapsed };
    if ("value" in seen && seen.value === poll.until) {
      const after = `${polls} poll${polls === 1 ? "" : "s"}, ${elapsed} ms`;
      return {
        ...result,
        message: `${result.message}; ${poll.path} became ${word(poll.until)} (${after})`,
        detail,
      };
    }
    const remaining = poll.timeout.ms - elapsed;
    if (remaining <= 0) {
      const last = "value" in seen ? `${poll.path} is ${show(seen.value)}` : seen.why;
      return {
        ...result,
        phase: "error",
        message: `poll ${target}: ${poll.path} did not become ${word(poll.until)} within ${poll.timeout.text} (${polls} polls; last: ${last})`,
        detail,
      };
    }
    try {
      await sleep(Math.min(poll.interval.ms, remaining), undefined, { signal });
    } catch {
      return { ...result, phase: "error", message: `poll ${target}: cancelled` };
    }
  }
}

function pollReading(r: Fetched, path: string): { value: unknown } | { why: string } {
  if (r.status < 200 || r.status > 299) return { why: `→ ${r.status}` };
  const parsed = readJson(r);
  if ("why" in parsed) return parsed;
  const found = query(path, parsed.json);
  return found.length === 0 ? { why: `${path} is missing` } : { value: found[0] };
}

function fillCaptures(url: string, captures: Record<string, Value>): string {
  return url.replace(/\{\{\s*captures\.([A-Za-z0-9._-]+)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(captures, name) ? encodeURIComponent(String(captures[name])) : whole,
  );
}

/** An expected value as a person writes it: `ok` bare, `"200"` quoted when it could be misread. */
function word(v: string | number | boolean | null): string {
  return typeof v === "string" && /^[A-Za-z_][\w.-]*$/.test(v) ? v : JSON.stringify(v);
}

function listOr(items: string[]): string {
  if (items.length <= 2) return items.join(" or ");
  return `one of ${items.join(", ")}`;
}
