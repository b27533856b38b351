/** What goes into a run and what comes out of it; the errors that end a run. */
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { Outcome } from "../steps/contract.js";

export type { ControlMessage, Outcome } from "../steps/contract.js";

export interface RunInput {
  runId: string;
  file: string;
  /** The runbook's text when the run was created: the run never re-reads the file. */
  source: string;
  env: string;
  ref: string;
  /** When the run was planned (ISO). */
  at: string;
  noCache: boolean;
  /** Who started it: an identity, or the OS user on a database without identities. */
  operator: string;
  /** false: the database had no identities, and `operator` was taken at its word. */
  authenticated?: boolean;
  /** The plan made when the run was created: what the engine executes, as recorded. */
  plan: ReleasePlan;
}

export interface RunResult {
  run: string;
  outcome: Outcome;
  version: string;
  previousVersion: string | null;
  reason: string;
  rollback?: {
    detectToDoneMs: number;
    targetMs?: number;
    withinTarget?: boolean;
    detectionLatencyMs?: number;
  };
  /** How long monitoring saw nothing after the deploy (a crash, the database away), when it did. */
  unobservedMs?: number;
}

/** Thrown to end a run with an outcome; caught once, at the top of the workflow. */
export class RunFinished extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A template that cannot be filled in (over its limits, a value where no quoting is safe): its step fails with this. */
export class TemplateFailed extends Error {}
