/**
 * What the engine's workflows (a release, a channel's courier) need from the process running
 * them, set by the runtime before DBOS launches; and whether that process is stopping.
 */
import type pg from "pg";
import type { Sealer } from "../secrets/seal.js";
import type { EventStore } from "../store/events.js";

export interface EngineEnvironment {
  store: EventStore;
  dataDir: string;
  /** The event log's (fenced) pool: deploy provider state is written through it too. */
  pool: pg.Pool;
  sealer: Sealer;
}

let environment: EngineEnvironment | undefined;
let halting = false;

export function setEngineEnvironment(env: EngineEnvironment): void {
  environment = env;
}

export function engineEnvironment(): EngineEnvironment {
  if (!environment) throw new Error("engine environment not set");
  return environment;
}

/**
 * Called when this process stops (Ctrl-C, SIGTERM, shutdown). From then on no run may end
 * here: its database connections are going away, and an error caused by that must not be
 * recorded as the run's outcome. The run stays pending and resumes elsewhere or later.
 */
export function haltRuns(): void {
  halting = true;
}

export function isHalting(): boolean {
  return halting;
}
