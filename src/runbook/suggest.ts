/** "Did you mean …?" for keys, names and values. */
import { distance } from "fastest-levenshtein";

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo.
 * Example: `closest("gatse", ["gates", "checks"])` → `"gates"`.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const list = [...candidates];
  if (lower.length >= 3) {
    const prefixed = list
      .filter((c) => c.toLowerCase().startsWith(lower))
      .sort((a, b) => a.length - b.length);
    if (prefixed[0] !== undefined) return prefixed[0];
  }
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of list) {
    const score = distance(lower, candidate.toLowerCase());
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.ceil(Math.max(word.length, best.length) / 3)));
  return bestScore <= limit ? best : undefined;
}
