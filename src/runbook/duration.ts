/**
 * Durations as people write them in runbooks: `90s`, `5m`, `1h30m`, `2d`, `500ms`.
 * One grammar everywhere, so `for: 5m`, `timeout: 30s` and `soak: 24h` read alike.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** Regex source for JSON Schema `pattern` (editors flag bad durations as you type). */
export const DURATION_PATTERN = "^(?:[0-9]+(?:ms|s|m|h|d|w))+$";

/** Example: `parseDuration("1h30m")` → 5_400_000; `parseDuration("5 min")` → undefined. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(PART)) total += Number(n) * UNIT_MS[unit as Unit];
  return total;
}

/** The message shown for a duration that does not parse. */
export function durationHint(text: string): string {
  const guess = guessDuration(text);
  const suggestion = guess ? ` did you mean \`${guess}\`?` : "";
  return `bad duration \`${text}\`: write a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 1h30m, 2d.${suggestion}`;
}

function guessDuration(text: string): string | undefined {
  const m =
    /^\s*(\d+)\s*(milliseconds?|msecs?|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s*$/i.exec(
      text,
    );
  if (!m) return undefined;
  const word = m[2]!.toLowerCase();
  const unit = word.startsWith("ms") || word.startsWith("milli") ? "ms" : word[0];
  return `${m[1]}${unit}`;
}

/** Formats milliseconds the way they are written: 5_400_000 → `1h30m`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return sign + out;
}
