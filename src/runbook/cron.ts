/**
 * Cron expressions (routines' `cron`), read by croner: five fields `minute hour day-of-month
 * month day-of-week`, or six with a leading seconds field; names (mon, jan) and @daily-style
 * nicknames too. Day of month and day of week match either, as in Vixie cron. Times are read
 * in an IANA time zone, daylight saving included (09:00 New York is 13:00 or 14:00 UTC).
 */
import { Cron } from "croner";

/** A parsed expression: what it says, or what is wrong with it. */
export type CronSchedule = { ok: true; cron: Cron } | { ok: false; error: string };

/** Example: `parseCron("0 9 * * *", "America/New_York")`; `parseCron("0 9 * *")` → error. */
export function parseCron(expression: string, timezone = "UTC"): CronSchedule {
  try {
    const cron = new Cron(expression, { timezone, paused: true, mode: "5-or-6-parts" });
    // A pattern that parses but never matches (30 February) has no next time.
    if (!cron.nextRun()) return { ok: false, error: "it never matches a date" };
    return { ok: true, cron };
  } catch (e) {
    return { ok: false, error: describe((e as Error).message) };
  }
}

/** The next `n` times after `after` (exclusive). Throws when the expression is bad (validate first). */
export function nextTimes(expression: string, timezone: string, after: Date, n = 1): Date[] {
  const parsed = parseCron(expression, timezone);
  if (!parsed.ok) throw new Error(`bad cron expression \`${expression}\`: ${parsed.error}`);
  return parsed.cron.nextRuns(n, after);
}

/** croner's message without its class prefix ("CronPattern: …"), and in Gantry's words where known. */
function describe(message: string): string {
  const text = message.replace(/^Cron\w*:\s*/, "");
  if (/exactly five, six, or seven|parts are required/i.test(text))
    return "write five fields, `minute hour day-of-month month day-of-week` (e.g. `0 9 * * *`), or six with a leading seconds field";
  const plain = text.replace(/\s*Original error:.*$/s, "");
  return plain.charAt(0).toLowerCase() + plain.slice(1);
}
