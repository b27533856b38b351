/**
 * What every probe shares: the guard that keeps a probe from throwing and stamps its result,
 * the time box (timeout and cancellation) for probes that are not plain HTTP requests, the
 * verdict on a value against `expect`, and sending an HTTP request without throwing.
 */
import { type Comparison, compare, parseComparison } from "../runbook/expression.js";
import type { Duration } from "../runbook/schema/common.js";
import type { Measurement, ProbeContext, Value } from "./types.js";

/** A measurement before its timestamps are added. */
export type Outcome = Omit<Measurement, "startedAt" | "finishedAt">;

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A FormData body is sent as multipart/form-data; fetch sets the content type and boundary. */
  body?: string | FormData;
  /** For each request: covers connecting, the response and reading the body. */
  timeout: Duration;
  redirect?: "follow" | "manual";
}

export interface Fetched {
  status: number;
  /** The Content-Type header, "" when absent. */
  contentType: string;
  /** The body, or its first MAX_BODY_BYTES when `truncated`. */
  body: Uint8Array;
  size: number;
  truncated: boolean;
  latencyMs: number;
}

export type Sent = { ok: true; response: Fetched } | { ok: false; message: string; cancelled: boolean };

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Sends one request with its own timeout (and the caller's signal). Never throws. */
export async function send(request: HttpRequest, signal?: AbortSignal): Promise<Sent> {
  const timer = AbortSignal.timeout(request.timeout.ms);
  const started = performance.now();
  try {
    const res = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: request.redirect ?? "follow",
      signal: signal ? AbortSignal.any([timer, signal]) : timer,
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      }
    }
    const response: Fetched = {
      status: res.status,
      contentType: res.headers.get("content-type") ?? "",
      body: Buffer.concat(chunks),
      size,
      truncated: size > MAX_BODY_BYTES,
      latencyMs: Math.round(performance.now() - started),
    };
    return { ok: true, response };
  } catch (err) {
    if (signal?.aborted) return { ok: false, message: "cancelled", cancelled: true };
    if (timer.aborted) {
      return { ok: false, message: `timed out after ${request.timeout.text}`, cancelled: false };
    }
    return { ok: false, message: networkProblem(err), cancelled: false };
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed (temporary)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
};

/** Why a connection failed, in words: `connection refused` rather than ECONNREFUSED. */
export function networkProblem(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  for (const e of [cause, err]) {
    const code = (e as { code?: unknown } | undefined)?.code;
    if (typeof code !== "string") continue;
    if (NETWORK_CODES[code]) return NETWORK_CODES[code];
    if (code.startsWith("HPE_")) return `invalid HTTP response (${errorText(e)})`;
  }
  return errorText(cause instanceof Error ? cause : err);
}

/** Why a URL cannot be requested, or undefined. Credentials in a URL are refused (they would be logged). */
export function checkUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `unsupported URL scheme ${u.protocol} (use http or https)`;
  }
  if (u.username || u.password) {
    return "credentials in the URL are not supported; send an Authorization header";
  }
  return undefined;
}

/** The URL as written, with any user:password hidden. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "***";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

export function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

/** `text/html; charset=utf-8` → `text/html`. */
export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/**
 * Runs a probe body so that it never throws, and stamps the result: startedAt/finishedAt as
 * ISO strings (finishedAt never before startedAt), a message on one line, and the context's
 * `redact` applied to everything a person or the event log will see (message, value, detail).
 */
export async function guard(
  type: string,
  context: ProbeContext | undefined,
  run: () => Promise<Outcome>,
): Promise<Measurement> {
  const started = Date.now();
  let outcome: Outcome;
  try {
    outcome = await run();
  } catch (err) {
    outcome = { phase: "error", message: `${type} probe failed unexpectedly: ${errorText(err)}` };
  }
  const redact = context?.redact ?? ((text: string) => text);
  const measurement: Measurement = {
    ...outcome,
    message: oneLine(redact(outcome.message)),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(Math.max(Date.now(), started)).toISOString(),
  };
  if (typeof outcome.value === "string") measurement.value = redact(outcome.value);
  if (outcome.detail && context?.redact) {
    measurement.detail = JSON.parse(redact(JSON.stringify(outcome.detail))) as Record<string, unknown>;
  }
  return measurement;
}

/**
 * Runs `work` within the probe's `timeout` and the step's `signal`. Resolves to the work's
 * outcome, or to an `error` saying "timed out after …" or "cancelled" as soon as either
 * happens; `work` gets a signal that fires then, to close what it opened.
 */
export async function bounded(
  timeout: Duration,
  signal: AbortSignal | undefined,
  what: string,
  work: (signal: AbortSignal) => Promise<Outcome>,
): Promise<Outcome> {
  if (signal?.aborted) return { phase: "error", message: `${what}: cancelled` };
  const controller = new AbortController();
  let stop: (outcome: Outcome) => void = () => undefined;
  const stopped = new Promise<Outcome>((resolve) => {
    stop = resolve;
  });
  const timer = setTimeout(() => {
    stop({ phase: "error", message: `${what}: timed out after ${timeout.text}` });
    controller.abort();
  }, timeout.ms);
  const onCancel = () => {
    stop({ phase: "error", message: `${what}: cancelled` });
    controller.abort();
  };
  signal?.addEventListener("abort", onCancel, { once: true });
  const working = work(controller.signal).catch(
    (err): Outcome => ({ phase: "error", message: `${what}: ${errorText(err)}` }),
  );
  try {
    return await Promise.race([working, stopped]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onCancel);
    controller.abort();
  }
}

/**
 * The verdict on a measured value. With `expect`: successful or failed by compare(), or an
 * error when the value cannot be compared (a word where a number was expected). Without:
 * successful, a value was read.
 */
export function judge(
  value: Value,
  said: string,
  expect: Comparison | undefined,
  extra: Partial<Outcome> = {},
): Outcome {
  if (!expect) return { ...extra, phase: "successful", value, message: said };
  const ok = compare(value, expect);
  if (ok === undefined) {
    return { ...extra, phase: "error", value, message: `${said}, cannot compare with ${expect.text}` };
  }
  const message = ok ? `${said} (expected ${expect.text})` : `${said}, expected ${expect.text}`;
  return { ...extra, phase: ok ? "successful" : "failed", value, message };
}

/** A number as shown in a message: integers as they are, others to 4 significant digits. */
export function num(x: number): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(1) : String(Number(x.toPrecision(4)));
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Collapses whitespace (newlines included) and caps the length. */
export function oneLine(text: string, max = 500): string {
  const line = text.replace(/\s+/g, " ").trim() || "no message";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A value as shown in a message: JSON, shortened. */
export function show(v: unknown): string {
  if (v === undefined) return "missing";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** Secrets shorter than this are left to the run's redactor: masking every "x" would make a message unreadable. */
const MIN_SCRUBBED = 4;

/**
 * The outcome with the given secrets (a password from a connection URL) replaced by ***, in
 * the message, a string value and the detail: a probe's own layer under the run's redactor.
 */
export function scrub(outcome: Outcome, all: string[]): Outcome {
  const secrets = all.filter((s) => s.length >= MIN_SCRUBBED);
  if (secrets.length === 0) return outcome;
  const hide = (text: string) => secrets.reduce((t, s) => t.replaceAll(s, "***"), text);
  const out: Outcome = { ...outcome, message: hide(outcome.message) };
  if (typeof outcome.value === "string") out.value = hide(outcome.value);
  if (outcome.detail)
    out.detail = JSON.parse(hide(JSON.stringify(outcome.detail))) as Record<string, unknown>;
  return out;
}

/** A comparison written in code, e.g. a probe's default `< 80%`. */
export function comparison(text: string): Comparison {
  const parsed = parseComparison(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** A ratio as a percentage: 0.125 → "12.5%". */
export function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}
