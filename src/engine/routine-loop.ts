/**
 * The routines a worker keeps: for each, wait for its next scheduled time (its cron in its
 * time zone) and start that occurrence as a DBOS workflow whose id is the occurrence.
 *
 * Why a loop and not DBOS's own schedules: the times come from the same cron reader that
 * `gantry routines` lists them with and validation checks (src/runbook/cron.ts), and the runbook
 * files a worker watches are its command line, not rows to keep in step. Durability is DBOS's:
 * a worker restarted after a crash (one executor per database at a time) that starts the same
 * occurrence gets the workflow that exists (same id), and a workflow cut short by the crash is
 * recovered by DBOS at the next launch; the occurrence's rows (src/store/routines.ts) stop a
 * repeat even outside DBOS (`gantry routines run --at`). An occurrence whose time passes while
 * no worker runs is not run late; the next one is (`gantry routines run FILE NAME --at TIME`
 * runs a missed one by hand, once).
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { nextTimes } from "../runbook/cron.js";
import type { RoutineSpec } from "../runbook/schema/routines.js";
import { RoutineStore } from "../store/routines.js";
import { engineEnvironment } from "./environment.js";
import { type RoutineInput, type RoutineOutcome, runOccurrence } from "./routine.js";

export interface WatchedRoutine {
  file: string;
  source: string;
  service: string;
  spec: RoutineSpec;
}

/** The DBOS workflow id of an occurrence: the same for every worker, so it runs once. */
export function routineWorkflowId(service: string, routine: string, occurrence: string): string {
  return `routine/${service}/${routine}/${occurrence}`;
}

let registered: ((input: RoutineInput) => Promise<RoutineOutcome>) | undefined;

/** The occurrence as a DBOS workflow, registered (before launch) under the name `routine`. */
export function routineWorkflow(): (input: RoutineInput) => Promise<RoutineOutcome> {
  registered ??= DBOS.registerWorkflow(
    async (input: RoutineInput) => {
      const { pool, store: events } = engineEnvironment();
      return runOccurrence(input, {
        store: new RoutineStore(pool),
        structures: events,
        step: (name, body) => DBOS.runStep(body, { name }),
      });
    },
    { name: "routine" },
  );
  return registered;
}

/** The longest single wait (setTimeout's limit is about 24.8 days). */
const MAX_WAIT_MS = 6 * 3600_000;

/** Starts every routine's loop; `report` hears each occurrence's outcome. Returns a stop function. */
export function keepRoutines(
  routines: WatchedRoutine[],
  report: (r: WatchedRoutine, occurrence: string, outcome: RoutineOutcome | Error) => void,
): () => void {
  const stop = new AbortController();
  for (const r of routines) void loop(r, stop.signal, report);
  return () => stop.abort();
}

async function loop(
  r: WatchedRoutine,
  signal: AbortSignal,
  report: (r: WatchedRoutine, occurrence: string, outcome: RoutineOutcome | Error) => void,
): Promise<void> {
  let cursor = new Date();
  while (!signal.aborted) {
    const [next] = nextTimes(r.spec.cron, r.spec.timezone, cursor);
    if (!next) return;
    while (!signal.aborted && Date.now() < next.getTime()) {
      await wait(Math.min(next.getTime() - Date.now(), MAX_WAIT_MS), signal);
    }
    if (signal.aborted) return;
    cursor = next;
    const occurrence = next.toISOString();
    const input: RoutineInput = {
      file: r.file,
      source: r.source,
      routine: r.spec.name,
      occurrence,
      trigger: "schedule",
    };
    try {
      const workflowID = routineWorkflowId(r.service, r.spec.name, occurrence);
      const handle = await DBOS.startWorkflow(routineWorkflow(), { workflowID })(input);
      void handle.getResult().then(
        (outcome) => report(r, occurrence, outcome),
        (e: unknown) => report(r, occurrence, e instanceof Error ? e : new Error(String(e))),
      );
    } catch (e) {
      report(r, occurrence, e instanceof Error ? e : new Error(String(e)));
    }
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
