/**
 * A release's schedule as its log tells it (`gantry schedule RUN`): each item with its time,
 * owner and state: done, failed, due (its time has come, it waits for a sign-off), overdue
 * (more than its grace past due and not done), or upcoming.
 */
import type { Control } from "../engine/control.js";
import { findRun } from "./runs.js";

export interface ScheduleItem {
  id: string;
  title: string;
  at: string;
  owner: string | null;
  /** When it is due (ISO), once the run has timed it. */
  due: string | null;
  state: "done" | "failed" | "due" | "overdue" | "upcoming";
  message: string | null;
}

/** An item waiting this long past its time is overdue. */
export const OVERDUE_AFTER_MS = 15 * 60_000;

export async function scheduleOf(control: Control, runId: string, now = Date.now()): Promise<ScheduleItem[]> {
  const view = await findRun(control, runId);
  const events = await control.store.list(runId);
  const created = events.find((e) => e.kind === "run.created");
  const planned = (
    (created?.data.steps ?? []) as Array<{ id: string; kind: string; at?: string; owner?: string | null }>
  ).filter((s) => s.kind === "schedule");
  const due = new Map<string, string>();
  for (const e of events) if (e.kind === "schedule.due" && e.step) due.set(e.step, String(e.data.due));
  return planned.map((p) => {
    const step = view.steps.find((s) => s.id === p.id);
    const when = due.get(p.id) ?? null;
    const passed = when !== null && Date.parse(when) <= now;
    const state: ScheduleItem["state"] =
      step?.status === "passed"
        ? "done"
        : step?.status === "failed" || step?.status === "skipped"
          ? "failed"
          : passed && Date.parse(when!) + OVERDUE_AFTER_MS < now
            ? "overdue"
            : passed
              ? "due"
              : "upcoming";
    return {
      id: p.id,
      title: step?.title ?? p.id,
      at: p.at ?? "",
      owner: p.owner ?? null,
      due: when,
      state,
      message: step?.message ?? null,
    };
  });
}
