/** "Did you mean …?" for keys, names and values. */
import { distance } from "fastest-levenshtein";

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo.
 * Example: `closest("gatse", ["gates", "checks"])` → `"gates"`.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const score = distance(lower, candidate.toLowerCase());
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
  const prefix = best.toLowerCase().startsWith(lower) && lower.length >= 3;
  return bestScore <= limit || prefix ? best : undefined;
}
