/**
 * The probe contract. A probe measures one thing and returns a Measurement; it never throws.
 * `failed` means the condition was false; `error` means it could not be measured. The two
 * are never the same thing: a timeout or a garbage response is an `error`, not a pass.
 */
import type { Probe } from "../runbook/schema/probes.js";
import type { EnvironmentSpec } from "../runbook/schema/runbook.js";

export type Phase = "successful" | "failed" | "error" | "inconclusive";

export type Value = number | string | boolean | null;

export interface Measurement {
  phase: Phase;
  /** The measured value, when there is one (a status code, a ratio, a field of a JSON body). */
  value?: Value;
  /** One line a person can act on: what was measured and why it passed or not. */
  message: string;
  startedAt: string;
  finishedAt: string;
  /** Values captured for later steps (http `capture:`). */
  captures?: Record<string, Value>;
  /** Opaque state the next measurement of the same probe needs (counters for a rate). */
  state?: unknown;
  /** Extra facts for the event log (latency percentiles, samples taken). */
  detail?: Record<string, unknown>;
}

export interface ProbeContext {
  /** Aborted when the step is cancelled; probes also enforce their own `timeout`. */
  signal?: AbortSignal;
  /** What the previous measurement of this probe returned as `state`. */
  previous?: unknown;
  /**
   * Masks secret values. Applied by the guard to everything a measurement shows (message,
   * string value, detail), so a secret echoed back by a server never reaches a log.
   */
  redact?: (text: string) => string;
  /** The environment the probe measures: its database, Redis and metric sources. */
  env?: ProbeEnvironment;
  /** When the release was deployed (ISO): "since the deploy" for sentry and posthog. */
  since?: string;
  /** The value measured before the deploy, for probes with `baseline:`. */
  baseline?: Value;
  /** The runbook's folder: relative paths (files to upload, CA certificates) start here. */
  dir?: string;
}

/** An environment's connections, templates filled in (secrets included, in memory only). */
export interface ProbeEnvironment {
  name?: string;
  database?: { url: string; schemaVersion?: string | undefined };
  redis?: { url: string };
  metrics?: Record<string, MetricSource>;
}

export type MetricSource = EnvironmentSpec["metrics"][string];

/**
 * A probe spec whose templates have already been rendered (URLs, headers, commands hold
 * final values). Secrets appear only here, in memory; never in a Measurement.
 */
export type ResolvedProbe = Probe;

export interface ProbeImplementation<T extends Probe["type"] = Probe["type"]> {
  type: T;
  measure(spec: Extract<Probe, { type: T }>, context: ProbeContext): Promise<Measurement>;
}
