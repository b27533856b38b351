/**
 * A run's release record, for the reports: read from its event log and nothing else
 * (src/reports/build.ts). The CLI's `gantry report` and `gantry postmortem` and the executors'
 * automatic postmortem read it here; so will the HTTP API.
 */
import path from "node:path";
import type { Control } from "../engine/control.js";
import { buildRecord } from "../reports/build.js";
import type { ReleaseRecord } from "../reports/record.js";
import type { EventStore } from "../store/events.js";
import { Refusal } from "./refusal.js";
import { findRun } from "./runs.js";

/** The record of run `runId`; refused, naming recent runs, when there is no such run. */
export async function runRecord(control: Control, runId: string): Promise<ReleaseRecord> {
  // One read of the log: a long run's is thousands of events.
  const record = buildRecord(await control.store.list(runId));
  if (record) return record;
  await findRun(control, runId);
  throw new Refusal("not-found", `no run ${runId} (gantry status lists runs)`);
}

/** The record of a run an executor has just finished, read through its own store. */
export async function finishedRecord(store: EventStore, runId: string): Promise<ReleaseRecord> {
  return recordOf(await store.list(runId), runId);
}

/** Where the automatic postmortem draft of a run goes: `<data folder>/reports/<run>-postmortem.md`. */
export function postmortemFile(dataDir: string, runId: string): string {
  return path.join(dataDir, "reports", `${runId.replace(/[^A-Za-z0-9._-]/g, "-")}-postmortem.md`);
}

function recordOf(events: Parameters<typeof buildRecord>[0], runId: string): ReleaseRecord {
  const record = buildRecord(events);
  if (!record) throw new Refusal("not-found", `no run ${runId} (gantry status lists runs)`);
  return record;
}
