/**
 * The step contract: what a step kind receives and what it returns. Each kind is one module
 * (src/steps/<kind>.ts, rollback forms under src/steps/rollback/), found through the registry
 * (src/steps/registry.ts). The engine interprets the plan and hands each step to its module
 * with a StepContext; the module acts and returns a StepResult.
 *
 * Two modes:
 * - `act`: the whole step is one durable step. `run` is executed once; its result, facts
 *   included, is recorded, and a replay after a crash returns the record without acting again.
 *   It must not use the context's durable operations (`durable`).
 * - `procedure`: the step waits, asks people or is made of several durable parts; `run`
 *   executes in the workflow and uses `ctx.durable` for every effect and wait.
 *
 * Every fact a later step needs (a capture, a baseline, the backup, when the deploy finished)
 * is returned in `facts`, never kept in a module: the engine merges the facts of the recorded
 * results, in order, so a replay rebuilds the same state.
 */
import type { EnvironmentScope } from "../checks/scope.js";
import type { CommandResult } from "../exec/command.js";
import type { MigrationTarget } from "../migrations/run.js";
import type { Value } from "../probes/types.js";
import type { Provider } from "../providers/types.js";
import type { Measured, ReleasePlan, StepKind, StepOf } from "../runbook/plan/types.js";
import type { NotifyEvent } from "../runbook/schema/notify.js";
import type { EventStore, NewEvent } from "../store/events.js";

export const OUTCOMES = ["released", "rolled_back", "gate_failed", "aborted", "failed", "postponed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface BackupInfo {
  id: string;
  at: string;
  file?: string;
  bytes?: number;
}

/** What the run knows so far, rebuilt from the recorded step results on every replay. */
export interface RunFacts {
  /** What was serving before this release: the rollback target. */
  previousVersion?: string;
  sha?: string;
  /** Whether the deploy may have changed what serves: from then on a failure rolls back. */
  deployed: boolean;
  /** When the deploy finished (epoch ms): T, the origin of checkpoints. */
  deployedAt?: number;
  /** Values captured from responses (a login's token). Secret: encrypted wherever recorded. */
  captures: Record<string, unknown>;
  /** Values measured before the deploy: integrity checks by name, named checks as `checks.<name>`. */
  baselines: Record<string, Value>;
  backup?: BackupInfo;
  /** Expand migrations this run applied. */
  expandApplied: string[];
  contractDone: boolean;
  /** Who overrode a closed window for this run, and why: it holds for the run's later window check too. */
  windowOverride?: Array<{ by: string; role: string; reason: string }>;
}

/** A change to the facts: captures and baselines are merged key by key, the rest replaced. */
export type FactsPatch = Partial<RunFacts>;

export type StepStatus = "passed" | "failed" | "skipped";

export interface StepResult {
  ok: boolean;
  /** Default: passed when ok, failed otherwise. */
  status?: StepStatus;
  message: string;
  data?: Record<string, unknown>;
  facts?: FactsPatch;
  /** What the run does next when not the default (continue on success, the module's onFail otherwise). */
  next?: Transition;
}

/** What happens after a step. */
export type Transition =
  | { to: "continue" }
  | { to: "finish"; outcome: Outcome; reason: string }
  | { to: "rollback"; cause: RollbackCause };

export interface RollbackCause {
  reason: string;
  /** When the problem was detected (epoch ms); the engine's recorded clock when a module leaves it out. */
  detectedAt?: number;
  /** When the rule's `for` window elapsed, counted from the first sample that could have seen the breach. */
  windowElapsedAt?: number;
  severity?: string;
  /** The rule that fired, for messages. */
  rule?: Moment["rule"];
}

export type ControlMessage =
  | {
      type: "approve";
      by: string;
      step?: string;
      id: string;
      /** The role this approval counts for (checked by the application layer before sending). */
      role?: string;
      comment?: string;
      /** The option picked, when the step is a rollback choice. */
      choice?: string;
      /** false: the database has no identities and `by` was taken at its word. */
      authenticated?: boolean;
    }
  | {
      type: "reject";
      by: string;
      step?: string;
      reason?: string;
      id: string;
      role?: string;
      authenticated?: boolean;
    }
  | { type: "item"; by: string; step?: string; id: string; item: number; role?: string; comment?: string }
  | { type: "handoff"; by: string; id: string; from: string; to: string; note?: string }
  | { type: "rollback"; by: string; reason: string; id: string }
  | { type: "abort"; by: string; reason?: string; id: string };

/** What an event is about, beyond the run itself. */
export interface Moment {
  reason?: string;
  outcome?: string;
  rule?: { name: string; severity: string; when: string; value?: unknown; threshold?: unknown; for: string };
  checkpoint?: { at: string; name: string; status: string; summary?: string };
  rollback?: RollbackMoment;
  incident?: { id: string; severity: string };
  gate?: string;
  approval?: { what: string; needed: number };
  /** A schedule item that is due: its name, offset, due time, owner role and tasks. */
  schedule?: { name: string; at: string; due: string; owner: string; tasks: string[] };
  /**
   * A role paged (to investigate, or on an escalation), with its members; `for`: the role of the
   * list it answers for (when that one is off hours), `why`: how the page got there.
   */
  page?: { role: string; members: string[]; for?: string; why?: string };
}

export interface RollbackMoment {
  reason: string;
  startedAt: string;
  /** How long since the problem was detected (ms), or the whole rollback once complete. */
  durationMs?: number;
  targetMs?: number;
  withinTarget?: boolean;
  detectionLatencyMs?: number;
  version?: string;
}

/** The durable operations a procedure uses; each is recorded, so a replay takes the same path. */
export interface Durable {
  /** The time, recorded. */
  now(): Promise<number>;
  /** One durable part of a step: run once, its result recorded (facts merged into the run's). */
  act(name: string, body: () => Promise<StepResult>): Promise<StepResult>;
  event(e: NewEvent): Promise<void>;
  /** Records a step's start (the live view shows it running). */
  started(id: string, kind: string, title: string): Promise<void>;
  /** Records a step's end. */
  finished(id: string, status: StepStatus, message: string, data?: Record<string, unknown>): Promise<void>;
  /**
   * Waits until `at` (epoch ms), acting on control messages; monitoring samples meanwhile.
   * `quiet`: control messages wait (a rollback's own waits).
   */
  waitUntil(at: number, options?: { quiet?: boolean }): Promise<void>;
  /** Waits for a control message until `deadline` (none: forever); monitoring samples meanwhile. */
  receive(deadline: number | undefined): Promise<ControlMessage | undefined>;
  /** Acts on a control message that is not an answer to the step (abort, rollback). */
  control(message: ControlMessage): Promise<void>;
  /** Monitors until `at`: returns once no enforced rule is in breach at `at` and enough fresh samples were seen. */
  monitorUntil(at: number): Promise<{ summary: string }>;
  /** Ends the run now: rolls back, or finishes with an outcome. Never returns. */
  transition(t: Exclude<Transition, { to: "continue" }>): Promise<never>;
  /**
   * Tells people: sends the messages the runbook subscribes to `event` (or `template`, to the
   * channels of `event`'s subscriptions). `occurrence` names this happening of the event: the
   * same occurrence sends its messages once, however often a replay gets here.
   */
  notify(
    event: NotifyEvent,
    occurrence: string,
    moment?: Moment,
    send?: { template: string; to?: string[] },
  ): Promise<void>;
  /** Whether the run is rolling back (an approval refused then fails its step, not the run). */
  readonly rollingBack: boolean;
}

/** What a step module receives: the run's identity, its facts, and the means to act. */
export interface StepContext {
  readonly runId: string;
  readonly service: string;
  readonly env: string;
  readonly version: string;
  readonly ref: string;
  readonly file: string;
  /** The runbook's folder: commands run here. */
  readonly cwd: string;
  readonly noCache: boolean;
  readonly facts: Readonly<RunFacts>;
  /** The plan the run executes (who is paged: its roles and paging). */
  readonly plan: ReleasePlan;
  /** The environment's connections and values, secrets filled in. */
  readonly scope: EnvironmentScope;
  readonly store: EventStore;
  /** Another environment of the runbook (parity compares with one). */
  scopeOf(env: string): EnvironmentScope;
  /** Removes every secret and captured value from a text. */
  redact(text: string): string;
  /** Fills a template that is not a command. Throws a message naming `where` when it cannot. */
  render(template: string, where: string, extra?: Record<string, unknown>): string;
  /** Fills a command template, every value as data (see runbook/command-template.ts). */
  fillCommand(template: string, where: string, values?: Record<string, unknown>): string;
  /** Fills a command template (every value as data) and runs it; output lines go to the log. */
  command(
    step: string,
    template: string,
    timeoutMs: number,
    options?: { env?: Record<string, string>; values?: Record<string, unknown> },
  ): Promise<CommandResult>;
  /**
   * Measures a probe with the run's values; captures come back as facts. `origin`: an http
   * probe of the environment's URL goes there instead (a canary alone, the stable version alone).
   */
  measure(step: string, measured: Measured, options?: { origin?: string }): Promise<StepResult>;
  provider(step: string): Provider;
  output(step: string, line: string): void;
  migrationTarget(migrations: MigrationTarget["migrations"]): MigrationTarget;
  /** "; nothing was deployed" or where the release stands, for messages that end the run. */
  deployedNote(): string;
  /** Procedures only. */
  readonly durable: Durable;
}

export interface StepModule<K extends StepKind = StepKind> {
  readonly kind: K;
  readonly mode: "act" | "procedure";
  run(step: StepOf<K>, ctx: StepContext): Promise<StepResult>;
  /** What a failure of this step does to the run (default: the run fails, "nothing was deployed"). */
  onFail?(step: StepOf<K>, result: StepResult, ctx: StepContext): Transition;
}
