/**
 * An environment's `timeScale`: every time on the release's timeline divided by one factor,
 * so that a release written for hours (checkpoints at T+2h, rules held for 10m, a 24h soak)
 * runs in seconds against a stand-in or in a drill, with the team's timings as written.
 *
 * Which durations are on the timeline is declared in the schema (`Span`, and every `Offset`):
 * their parsed value carries `timeline: true`. Timeouts, retry delays and latency budgets are
 * plain `Duration`s and keep their length: a service answers no faster in a compressed run.
 */
import type { Runbook } from "./schema/runbook.js";

/** No span on a compressed timeline is shorter than this (a sample every 20 ms measures nothing). */
export const MIN_SPAN_MS = 100;

/**
 * The sample interval, and how often a progress message is sent, are compressed no further
 * than this (a message a second is also about what a chat channel takes). A sample takes real time (its probes
 * answer no faster in a compressed run, and a command signal starts a process), and monitoring
 * takes samples more than two intervals apart for a gap in observation: with an interval shorter
 * than half a sample, every sample is a gap, no checkpoint or canary hold ever passes, and the
 * run never reaches a step boundary to stop at.
 */
export const MIN_INTERVAL_MS = 1000;

/**
 * How long a person is given to answer a decision, a sign-off or a rollback choice, at least, on a compressed
 * timeline: people answer no faster in a compressed run, and a busy machine delays them
 * further. A timeout longer as written keeps its own length.
 */
export const MIN_ANSWER_MS = 30_000;

const compressed = new WeakSet<Runbook>();

/** The runbook as `env` runs it: compressed by its timeScale, or as it is. */
export function onTimeline(runbook: Runbook, env: string): Runbook {
  const factor = runbook.environments[env]?.timeScale;
  if (factor === undefined || factor === 1 || compressed.has(runbook)) return runbook;
  const out = scaled(runbook, factor) as Runbook;
  // Intervals of repeated work stop at MIN_INTERVAL_MS: a sample, and a progress message.
  floor(out.monitor?.interval, runbook.monitor?.interval);
  out.notify?.on.forEach((s, i) => floor(s.every, runbook.notify?.on[i]?.every));
  out.decisions.forEach((d, i) => floor(d.timeout, runbook.decisions[i]?.timeout, MIN_ANSWER_MS));
  out.checklists.forEach((c, i) => floor(c.timeout, runbook.checklists[i]?.timeout, MIN_ANSWER_MS));
  out.rollback?.steps.forEach((s, i) =>
    floor(s.choose?.timeout, runbook.rollback?.steps[i]?.choose?.timeout, MIN_ANSWER_MS),
  );
  compressed.add(out);
  return out;
}

function floor(
  span: { ms: number } | undefined,
  written: { ms: number } | undefined,
  min = MIN_INTERVAL_MS,
): void {
  if (span && written) span.ms = Math.max(span.ms, Math.min(written.ms, min));
}

/** The span `ms` compressed by `factor`: a non-zero span stays at least MIN_SPAN_MS long. */
export function compress(ms: number, factor: number): number {
  if (ms === 0) return 0;
  return Math.sign(ms) * Math.max(MIN_SPAN_MS, Math.round(Math.abs(ms) / factor));
}

function scaled(value: unknown, factor: number): unknown {
  if (Array.isArray(value)) return value.map((v) => scaled(v, factor));
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  const record = value as Record<string, unknown>;
  if (record.timeline === true && typeof record.ms === "number")
    return { ...record, ms: compress(record.ms, factor) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = scaled(v, factor);
  return out;
}
