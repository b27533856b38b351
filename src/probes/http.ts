/**
 * The http probe: sends a request (or `samples` of them, one after another) and checks the
 * answer against `expect` (status, content type, size, assertions on the JSON body) and an
 * optional latency and error `budget`; reads `value` and `capture` fields from the JSON body;
 * can `poll` an asynchronous job until a field has a value; and can `download` the job's
 * result and check its status, type and size.
 *
 * Bodies: one of `json`, `form`, `text` or `multipart`. A multipart body has text fields and
 * files (`{file, contentType?}`); files are read relative to the runbook's folder
 * (`context.dir`, else the current directory) and sent with their base name; a file part
 * without `contentType` goes as application/octet-stream. fetch writes the multipart content
 * type and boundary, so a Content-Type header next to `multipart` is refused.
 *
 * Samples and budget: with `samples: N` the requests go one after another. The error rate is
 * the share of samples that did not pass (`failed` or `error`). Latencies are those of the
 * samples that got an answer; p50, p95 and p99 are nearest-rank percentiles (the value at
 * rank ceil(p/100 × n) of the sorted latencies, so always a measured latency: with 10 samples
 * p95 and p99 are the slowest one). `detail` holds {status, samples, failed, errorRate, p50,
 * p95, p99, max, budget} with more than one sample or a budget; a single sample without a
 * budget gives {status, latencyMs, samples}. Each budget limit (p50/p95/p99/max in ms,
 * errorRate as a ratio) is judged against these; any over its limit is `failed`. Without an
 * errorRate budget, any sample that did not pass makes the probe fail.
 *
 * Poll and download come after the request (all samples) succeeded, in that order; their
 * URLs may use `{{ captures.<name> }}` from this request. The download is a GET with the
 * request's headers (redirects followed); it must answer 2xx, with `download.contentType`'s
 * media type (parameters ignored; `image/*` accepts any image) and at least
 * `download.minBytes` bytes. The probe's `timeout` applies to each request, the download too.
 *
 * Verdicts: an expectation or budget that does not hold is `failed`. A request that got no
 * answer (timeout, connection refused, cancelled), a body that is not JSON where JSON is
 * needed, a file that cannot be read, or a `value` or `capture` that cannot be read is
 * `error`: nothing was measured. Without `value`, the measured value is the status code.
 */
import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
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
  const request = await buildRequest(spec, context.dir ?? process.cwd());
  if ("why" in request) return { phase: "error", message: `${what}: ${request.why}` };
  const samples: Sample[] = [];
  for (let i = 0; i < spec.samples; i++) {
    if (context.signal?.aborted) return { phase: "error", message: `${what}: cancelled` };
    const sample = await takeSample(spec, request, what, context.signal);
    if (sample.cancelled) return { phase: "error", message: sample.message };
    samples.push(sample);
  }
  let result = summarize(spec, samples, what);
  if (result.phase === "successful" && spec.poll) result = await followPoll(spec, result, context.signal);
  if (result.phase === "successful" && spec.download) {
    result = await followDownload(spec, result, context.signal);
  }
  return result;
}

function checkSpec(spec: HttpSpec): string | undefined {
  const given = { json: spec.json, form: spec.form, text: spec.text, multipart: spec.multipart };
  const bodies = Object.values(given).filter((b) => b !== undefined).length;
  if (bodies > 1) return "give one body: json, form, text or multipart";
  if (bodies > 0 && (spec.method === "GET" || spec.method === "HEAD")) {
    return `a ${spec.method} request cannot have a body`;
  }
  if (spec.multipart && hasHeader(spec.headers, "content-type")) {
    return "leave out the Content-Type header with multipart: the boundary is written for you";
  }
  if (spec.poll && spec.samples > 1) return "poll works with a single sample (samples: 1)";
  return checkUrl(spec.url);
}

async function buildRequest(spec: HttpSpec, dir: string): Promise<HttpRequest | { why: string }> {
  const headers = { ...spec.headers };
  let body: string | FormData | undefined;
  if (spec.multipart) {
    const form = await multipartBody(spec.multipart, dir);
    if ("why" in form) return form;
    body = form.form;
  } else {
    const [text, type] = bodyOf(spec) ?? [];
    if (type && !hasHeader(headers, "content-type")) headers["content-type"] = type;
    body = text;
  }
  // Expecting a redirect means looking at it, not following it.
  const redirect = expectedStatuses(spec).some((s) => s >= 300 && s < 400) ? "manual" : "follow";
  return { method: spec.method, url: spec.url, headers, body, timeout: spec.timeout, redirect };
}

/** The multipart form, files read once (every sample sends the same bytes). */
async function multipartBody(
  parts: NonNullable<HttpSpec["multipart"]>,
  dir: string,
): Promise<{ form: FormData } | { why: string }> {
  const form = new FormData();
  for (const [name, part] of Object.entries(parts)) {
    if (typeof part === "string") {
      form.append(name, part);
      continue;
    }
    const path = resolve(dir, part.file);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readFile(path);
    } catch (err) {
      return { why: `multipart field ${name}: cannot read ${path}: ${fileProblem(err)}` };
    }
    const type = part.contentType ?? "application/octet-stream";
    form.append(name, new Blob([bytes], { type }), basename(path));
  }
  return { form };
}

function fileProblem(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a folder, not a file";
  return errorText(err);
}

/** The request's headers for a GET of its own (poll, download): no body, so no Content-Type. */
function getHeaders(spec: HttpSpec): Record<string, string> {
  return Object.fromEntries(Object.entries(spec.headers).filter(([h]) => h.toLowerCase() !== "content-type"));
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
  const budget = spec.budget;
  const detail: Record<string, unknown> =
    n === 1 && !budget
      ? { status: first.status, latencyMs: first.latencyMs, samples: 1 }
      : {
          status: reading.status,
          ...(n === 1 ? { latencyMs: first.latencyMs } : {}),
          samples: n,
          failed: failing.length,
          errorRate,
          ...p,
          ...(budget ? { budget: budgetDetail(budget) } : {}),
        };
  const reads: Outcome = { phase: "successful", message: "", detail };
  if (reading.phase === "successful") {
    reads.value = reading.value;
    if (reading.captures && Object.keys(reading.captures).length > 0) reads.captures = reading.captures;
  }

  const over = `over ${n} sample${n === 1 ? "" : "s"}`;
  const problems: string[] = [];
  if (budget?.errorRate !== undefined) {
    // The tolerance keeps 1 failure in 10 within a 10% budget despite binary fractions.
    if (errorRate > budget.errorRate + 1e-9) {
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
    message: `${what} → ${n} samples, p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms, max ${p.max} ms${failures}`,
  };
}

/** The budget as numbers: limits in ms, the error rate as a ratio. */
function budgetDetail(budget: NonNullable<HttpSpec["budget"]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ["p50", "p95", "p99", "max"] as const) {
    const limit = budget[key];
    if (limit) out[key] = limit.ms;
  }
  if (budget.errorRate !== undefined) out.errorRate = budget.errorRate;
  return out;
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
  const urlProblem = checkFilledUrl(url);
  if (urlProblem) return { ...result, phase: "error", message: `poll ${target}: ${urlProblem}` };
  const request: HttpRequest = { method: "GET", url, headers: getHeaders(spec), timeout: spec.timeout };
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

/** checkUrl, and no `{{ captures.* }}` left that this request did not capture. */
function checkFilledUrl(url: string): string | undefined {
  const left = /\{\{\s*captures\.([A-Za-z0-9._-]+)\s*\}\}/.exec(url);
  if (left) return `captures.${left[1]} was not captured by this request`;
  return checkUrl(url);
}

// ---------------------------------------------------------------------------------------
// Downloading a result

/**
 * GETs download.url (captures filled in) and checks it answers 2xx with the expected media
 * type and at least minBytes. Value and captures stay those of the request; the size and
 * type go into the message and `detail.download`.
 */
async function followDownload(
  spec: HttpSpec,
  result: Outcome,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  const download = spec.download!;
  const url = fillCaptures(download.url, result.captures ?? {});
  const target = `download GET ${displayUrl(url)}`;
  const urlProblem = checkFilledUrl(url);
  if (urlProblem) return { ...result, phase: "error", message: `${target}: ${urlProblem}` };
  const request: HttpRequest = { method: "GET", url, headers: getHeaders(spec), timeout: spec.timeout };
  const sent = await send(request, signal);
  if (!sent.ok) return { ...result, phase: "error", message: `${target}: ${sent.message}` };
  const r = sent.response;
  const type = mediaType(r.contentType);
  const detail = {
    ...result.detail,
    download: { status: r.status, contentType: r.contentType, bytes: r.size, latencyMs: r.latencyMs },
  };
  const head = `${target} → ${r.status}, ${type || "no content type"}, ${r.size} bytes`;
  const fail = (why: string): Outcome => ({ ...result, phase: "failed", message: `${head}, ${why}`, detail });
  if (r.status < 200 || r.status > 299) return fail("expected a 2xx status");
  if (download.contentType && !sameMediaType(type, download.contentType)) {
    return fail(`expected ${mediaType(download.contentType)}`);
  }
  if (download.minBytes !== undefined && r.size < download.minBytes) {
    return fail(`expected at least ${download.minBytes} bytes`);
  }
  return { ...result, message: `${result.message}; ${head} in ${r.latencyMs} ms`, detail };
}

/** `application/pdf` against an expected `application/pdf` or `application/*`. */
function sameMediaType(actual: string, expected: string): boolean {
  const want = mediaType(expected);
  if (want.endsWith("/*")) return actual.startsWith(want.slice(0, -1));
  return actual === want;
}

/** An expected value as a person writes it: `ok` bare, `"200"` quoted when it could be misread. */
function word(v: string | number | boolean | null): string {
  return typeof v === "string" && /^[A-Za-z_][\w.-]*$/.test(v) ? v : JSON.stringify(v);
}

function listOr(items: string[]): string {
  if (items.length <= 2) return items.join(" or ");
  return `one of ${items.join(", ")}`;
}
