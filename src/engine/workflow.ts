/**
 * The release workflow: a stored plan executed as one DBOS durable workflow. Every side effect
 * runs inside a durable step (checkpointed in Postgres), every wait is a durable `recv` with a
 * deadline, and everything that happens is appended to the run's event log under a key that
 * is stable across replays. After a crash, DBOS replays the workflow: finished steps return
 * their recorded results (no gate runs again, nothing deploys twice), the run's facts are
 * rebuilt from them, and waits keep their original deadlines.
 *
 * The layout: interpreter.ts runs the plan; durable.ts holds the durable operations;
 * monitor.ts samples after the deploy; rollback.ts restores; context.ts is what step modules
 * (src/steps/) act through.
 */
import type pg from "pg";
import type { Sealer } from "../secrets/seal.js";
import type { EventStore } from "../store/events.js";
import { Interpreter } from "./interpreter.js";
import type { RunInput, RunResult } from "./types.js";

export type { ControlMessage, RunInput, RunResult } from "./types.js";
export { ENGINE_VERSION } from "./version.js";

/** What the workflow needs from the process running it. Set by the runtime before launch. */
export interface EngineEnvironment {
  store: EventStore;
  dataDir: string;
  /** The event log's (fenced) pool: deploy provider state is written through it too. */
  pool: pg.Pool;
  sealer: Sealer;
}

let environment: EngineEnvironment | undefined;
let halting = false;

/**
 * Called when this process stops (Ctrl-C, SIGTERM, shutdown). From then on no run may end
 * here: its database connections are going away, and an error caused by that must not be
 * recorded as the run's outcome. The run stays pending and resumes elsewhere or later.
 */
export function haltRuns(): void {
  halting = true;
}

export function setEngineEnvironment(env: EngineEnvironment): void {
  environment = env;
}

/** The DBOS workflow function: registered by the runtime as `release`. */
export async function releaseWorkflow(input: RunInput): Promise<RunResult> {
  if (!environment) throw new Error("engine environment not set");
  return new Interpreter(input, { ...environment, halting: () => halting }).execute();
}
