/** Deployment windows and freezes: is a deploy allowed at a given time, and when is the next chance. */
import { DateTime } from "luxon";
import type { EnvironmentSpec as Environment } from "../schema/runbook.js";

export interface WindowStatus {
  open: boolean;
  /** Why it is open or closed, in words. */
  reason: string;
  /** ISO time the window next opens, when closed and it opens within a year. */
  nextOpen?: string;
}

const DAY_NUMBERS: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const HORIZON_DAYS = 400;

type Window = Environment["windows"][number];

/** Example: `windowStatus(env, DateTime.fromISO("2025-10-07T15:00Z"))` for Tue–Thu 10:00–14:00 ET → open. */
export function windowStatus(env: Environment, at: DateTime): WindowStatus {
  const freeze = freezeAt(env, at);
  if (freeze) {
    const next = nextOpen(env, DateTime.fromISO(freeze.until));
    return {
      open: false,
      reason: `frozen until ${freeze.until}${freeze.reason ? ` (${freeze.reason})` : ""}`,
      ...(next ? { nextOpen: next } : {}),
    };
  }
  if (env.windows.length === 0)
    return { open: true, reason: "no deployment windows declared; any time outside freezes" };
  const inside = env.windows.find((w) => insideWindow(w, at));
  if (inside) return { open: true, reason: `inside ${describeWindow(inside)}` };
  const next = nextOpen(env, at);
  return {
    open: false,
    reason: `outside ${env.windows.map(describeWindow).join("; ")}`,
    ...(next ? { nextOpen: next } : {}),
  };
}

export function describeWindow(w: Window): string {
  return `${w.days.join(",")} ${w.start}–${w.end} ${w.timezone}`;
}

function freezeAt(env: Environment, at: DateTime): Environment["freezes"][number] | undefined {
  return env.freezes.find((f) => DateTime.fromISO(f.from) <= at && at < DateTime.fromISO(f.until));
}

/** Whether `at` falls inside the recurring window `w` (its days, from `start` until before `end`, in its zone). */
export function insideWindow(w: Window, at: DateTime): boolean {
  const local = at.setZone(w.timezone);
  if (!w.days.some((d) => DAY_NUMBERS[d] === local.weekday)) return false;
  const minutes = local.hour * 60 + local.minute;
  return minutes >= toMinutes(w.start) && minutes < toMinutes(w.end);
}

function toMinutes(clock: string): number {
  const [h, m] = clock.split(":").map(Number);
  return h! * 60 + m!;
}

/** The first moment at or after `from` that is inside a window and outside every freeze. */
function nextOpen(env: Environment, from: DateTime): string | undefined {
  if (env.windows.length === 0) return from.toISO() ?? undefined;
  const candidates: DateTime[] = [];
  for (const w of env.windows) {
    const start = toMinutes(w.start);
    const local = from.setZone(w.timezone);
    if (insideWindow(w, from)) candidates.push(from);
    for (let day = 0; day <= HORIZON_DAYS; day++) {
      const date = local.startOf("day").plus({ days: day });
      if (!w.days.some((d) => DAY_NUMBERS[d] === date.weekday)) continue;
      const opening = date.set({ hour: Math.floor(start / 60), minute: start % 60 });
      if (opening >= from) candidates.push(opening);
    }
  }
  for (const f of env.freezes) {
    const until = DateTime.fromISO(f.until);
    if (until >= from && env.windows.some((w) => insideWindow(w, until))) candidates.push(until);
  }
  const ok = candidates.filter((c) => !freezeAt(env, c)).sort((a, b) => a.toMillis() - b.toMillis());
  const first = ok[0];
  return first ? (first.toISO({ suppressMilliseconds: true }) ?? undefined) : undefined;
}
