/** How held times and measured values read in verdicts, reasons and messages. */
import type { Value } from "../probes/types.js";

/**
 * A held time, compact: 0s, 1.5s (tenths below 10s), 45s, 5m12s, 1h2m, 2d3h.
 * Truncated, never rounded up; at most two units from the largest.
 */
export function formatHeld(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 10_000) return `${Math.floor(t / 100) / 10}s`;
  let rest = Math.floor(t / 1000);
  const parts: [number, string][] = [];
  for (const [size, unit] of [
    [86_400, "d"],
    [3_600, "h"],
    [60, "m"],
    [1, "s"],
  ] as const) {
    parts.push([Math.floor(rest / size), unit]);
    rest %= size;
  }
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join("");
}

/**
 * A measured value for a reason: strings as they are; numbers to 3 significant digits, but
 * never dropping integer digits, trailing zeros trimmed: 0.082, 0.0823, 12.5, 1200, 1235 (1234.5).
 */
export function formatValue(v: Value | undefined): string {
  if (v === undefined) return "(no value)";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const whole = Math.abs(v) >= 1 ? String(Math.trunc(Math.abs(v))).length : 0;
  return String(Number(v.toPrecision(Math.min(21, Math.max(3, whole)))));
}
