/**
 * Routines outside the worker: when each runs next, one run now (`gantry routines run`), and
 * what earlier runs found. A run now goes through the same occurrence code as the worker's
 * (src/engine/routine.ts), with the same record and the same once-per-channel alerts.
 */
import type { StructureStore } from "../checks/drift.js";
import type { RoutineOutcome } from "../engine/routine.js";
import { nextTimes } from "../runbook/cron.js";
import type { RoutineSpec } from "../runbook/schema/routines.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { closest } from "../runbook/suggest.js";
import type { RoutineRun, RoutineStore } from "../store/routines.js";
import { Refusal } from "./refusal.js";

export interface RoutineView {
  name: string;
  description?: string;
  env: string;
  checks: string[];
  cron: string;
  timezone: string;
  /** The next scheduled times after `now`, ISO. */
  next: string[];
  alert?: { to: string[]; template?: string; onRecovery: boolean };
}

/** Every routine of the runbook with its next `count` times. */
export function listRoutines(runbook: Runbook, now: Date, count = 3): RoutineView[] {
  return runbook.routines.map((r) => ({
    name: r.name,
    ...(r.description ? { description: r.description } : {}),
    env: r.env,
    checks: r.checks,
    cron: r.cron,
    timezone: r.timezone,
    next: nextTimes(r.cron, r.timezone, now, count).map((d) => d.toISOString()),
    ...(r.alert
      ? {
          alert: {
            to: r.alert.to,
            ...(r.alert.template ? { template: r.alert.template } : {}),
            onRecovery: r.alert.onRecovery,
          },
        }
      : {}),
  }));
}

/** The routine called `name`, or a refusal that names the ones there are. */
export function findRoutine(runbook: Runbook, name: string): RoutineSpec {
  const spec = runbook.routines.find((r) => r.name === name);
  if (spec) return spec;
  const names = runbook.routines.map((r) => r.name);
  const near = closest(name, names);
  throw new Refusal(
    "not-found",
    `no routine ${name}${near ? `; did you mean ${near}?` : ""} (routines: ${names.join(", ") || "none; add some under routines"})`,
  );
}

/**
 * Runs one occurrence now: `at` (an occurrence's scheduled time, to run one a worker missed, or
 * again: it runs once) or this moment. Checks, record and alerts as the worker does them.
 */
export async function runRoutineNow(
  input: { runbook: Runbook; source: string; file: string; name: string; at?: Date },
  stores: { routines: RoutineStore; structures: StructureStore },
): Promise<RoutineOutcome> {
  findRoutine(input.runbook, input.name);
  const occurrence = (input.at ?? new Date()).toISOString();
  // Loaded here: listing routines needs none of the probes and channels a run does.
  const { runOccurrence } = await import("../engine/routine.js");
  return runOccurrence(
    {
      file: input.file,
      source: input.source,
      routine: input.name,
      occurrence,
      trigger: "manual",
    },
    { store: stores.routines, structures: stores.structures, step: (_name, body) => body() },
  );
}

export type HistoryEntry = RoutineRun & { alerts: Array<{ channel: string; kind: string; detail: string }> };

/** The latest recorded runs of the runbook's routines (or of one), newest first, with the alerts each sent. */
export async function routineHistory(
  runbook: Runbook,
  store: RoutineStore,
  name: string | undefined,
  limit: number,
): Promise<HistoryEntry[]> {
  if (name !== undefined) findRoutine(runbook, name);
  const runs = await store.history(runbook.metadata.service, name, limit);
  return Promise.all(
    runs.map(async (r) => ({ ...r, alerts: await store.alerts(r.service, r.routine, r.occurrence) })),
  );
}
