/**
 * What every channel shares: a failed Delivery, the scrubber every text a channel hands out
 * goes through, the time box of one attempt, reading Retry-After, and naming network errors.
 */

import { errorText, oneLine } from "../probes/shared.js";
import type { Duration } from "../runbook/schema/common.js";
import { redactor } from "../secrets/secrets.js";
import type { ChannelEnvironment, Delivery } from "./types.js";

// A probe's and a channel's errors read alike: the same words for an error, on one line.
export { errorText, oneLine };

export type Failure = Extract<Delivery, { ok: false }>;

export function failure(error: string, retryable: boolean, retryAfterMs?: number): Failure {
  return retryAfterMs === undefined
    ? { ok: false, error, retryable }
    : { ok: false, error, retryable, retryAfterMs };
}

/**
 * A text as a channel may hand it out: its own credentials hidden first (so no error shows a
 * token or a webhook URL even when the run's redactor was not told of it), on one line, then
 * the run's redactor — last, so that what it returns is what the event log stores.
 */
export function scrubber(
  env: ChannelEnvironment,
  credentials: Array<string | undefined>,
): (text: string) => string {
  const own = redactor(credentials.filter((c): c is string => typeof c === "string"));
  return (text) => env.redact(oneLine(own(text)));
}

/** The delivery with its error or detail scrubbed. */
export function scrubbed<D extends Delivery>(delivery: D, scrub: (text: string) => string): D {
  return delivery.ok
    ? { ...delivery, detail: scrub(delivery.detail) }
    : { ...delivery, error: scrub(delivery.error) };
}

export interface Attempt {
  /** Aborts when the caller's signal does or when the attempt's time is up. */
  signal: AbortSignal;
  /** Why the attempt was cut short ("cancelled", "timed out after 10s"), or undefined. */
  stopped(): string | undefined;
  /** What to say when a client's own timer (set to the same time) ends the attempt first. */
  readonly timedOut: string;
}

/** One delivery attempt: at most `timeout` long, and over as soon as `signal` aborts. */
export function attempt(timeout: Duration, signal: AbortSignal): Attempt {
  const timer = AbortSignal.timeout(Math.max(1, timeout.ms));
  const timedOut = `timed out after ${timeout.text}`;
  return {
    signal: AbortSignal.any([signal, timer]),
    stopped: () => (signal.aborted ? "cancelled" : timer.aborted ? timedOut : undefined),
    timedOut,
  };
}

/** Retry-After (RFC 9110 §10.2.3: seconds, or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed by the server",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed (temporary)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

/** Why a request failed before any answer, in words: `connection refused` rather than ECONNREFUSED. */
export function networkProblem(err: unknown): string {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const words = networkWords((e as { code?: unknown }).code);
    if (words) return words;
  }
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return errorText(cause instanceof Error ? cause : err);
}

/** ECONNREFUSED → "connection refused"; undefined for a code that is not a network error's. */
export function networkWords(code: unknown): string | undefined {
  return typeof code === "string" && Object.hasOwn(NETWORK_CODES, code) ? NETWORK_CODES[code] : undefined;
}

/** Where a spec's field is, for errors a person fixes in the runbook. */
export function fieldPath(name: string, field: string): string {
  return `notify.channels.${name}.${field}`;
}
