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
import { engineEnvironment, isHalting } from "./environment.js";
import { Interpreter } from "./interpreter.js";
import type { RunInput, RunResult } from "./types.js";

export { type EngineEnvironment, haltRuns, setEngineEnvironment } from "./environment.js";
export type { ControlMessage, RunInput, RunResult } from "./types.js";
export { ENGINE_VERSION } from "./version.js";

/** The DBOS workflow function: registered by the runtime as `release`. */
export async function releaseWorkflow(input: RunInput): Promise<RunResult> {
  return new Interpreter(input, { ...engineEnvironment(), halting: isHalting }).execute();
}
