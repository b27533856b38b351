/**
 * Gantry's own Liquid filters, for messages (they work in every template):
 *   {{ rollback.durationMs | duration }}      → 1m 30s   (milliseconds, or a duration text as is)
 *   {{ signals.error_rate.value | percent }}  → 1.23%    (a fraction; `percent: 1` → 1.2%)
 *   {{ smoke.failed | list }}                 → login, checkout and export ("none" when empty)
 */
import type { Liquid } from "liquidjs";
import { parseDuration } from "./duration.js";

export function duration(value: unknown): string {
  const ms = typeof value === "number" ? value : typeof value === "string" ? parseDuration(value) : undefined;
  if (ms === undefined || !Number.isFinite(ms))
    return value === undefined || value === null ? "" : String(value);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(" ");
}

export function percent(value: unknown, digits: unknown = 2): string {
  const n = typeof value === "number" ? value : Number(value);
  if (value === null || value === undefined || value === "" || !Number.isFinite(n)) return "n/a";
  const d = Math.max(0, Math.min(6, Math.floor(Number(digits) || 0)));
  return `${(n * 100).toFixed(d)}%`;
}

export function list(value: unknown, last: unknown = " and "): string {
  const items = (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]).map(
    String,
  );
  if (items.length === 0) return "none";
  if (items.length === 1) return items[0]!;
  return `${items.slice(0, -1).join(", ")}${String(last)}${items.at(-1)}`;
}

export function registerFilters(liquid: Liquid): void {
  liquid.registerFilter("duration", duration);
  liquid.registerFilter("percent", percent);
  liquid.registerFilter("list", list);
}
