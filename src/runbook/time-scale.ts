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

const compressed = new WeakSet<Runbook>();

/** The runbook as `env` runs it: compressed by its timeScale, or as it is. */
export function onTimeline(runbook: Runbook, env: string): Runbook {
  const factor = runbook.environments[env]?.timeScale;
  if (factor === undefined || factor === 1 || compressed.has(runbook)) return runbook;
  const out = scaled(runbook, factor) as Runbook;
  compressed.add(out);
  return out;
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
