/**
 * Whether a time zone name is one this Node.js knows. The first `Intl.DateTimeFormat` costs
 * tens of milliseconds (locale data), so the canonical IANA names are looked up in a list
 * first; other names (aliases such as US/Pacific, other spellings) still get the full check.
 */

let canonical: ReadonlySet<string> | undefined;

/** Example: `isTimeZone("America/New_York")` → true, `isTimeZone("Mars/Olympus")` → false. */
export function isTimeZone(name: string): boolean {
  canonical ??= new Set(Intl.supportedValuesOf("timeZone"));
  // ECMA-402 requires UTC (and Etc/UTC, Etc/GMT) in any spelling of case; the list leaves them out.
  if (canonical.has(name) || /^(etc\/)?(utc|gmt)$/i.test(name)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
