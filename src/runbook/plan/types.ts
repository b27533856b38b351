/**
 * The plan: everything Gantry will do for one release of one runbook to one environment, in
 * order. It is the contract between planning and execution: each step carries its own spec
 * (a gate its command and timeout, an approval its roles and counts, a rollback step its
 * form), the plan is stored with the run when the run is created, and the engine executes
 * that stored plan without planning again. Everything in it survives a JSON round trip.
 */
import type { Condition } from "../condition.js";
import type { Duration } from "../schema/common.js";
import type { Probe } from "../schema/probes.js";
import type { EnvironmentSpec, Runbook } from "../schema/runbook.js";
import type { PagingPlan } from "./on-call.js";
import type { WindowStatus } from "./window.js";

type Gate = Runbook["gates"][number];
export type MigrationsSpec = NonNullable<Runbook["migrations"]>;
export type BackupSpec = NonNullable<Runbook["backup"]>;
export type DeploySpec = NonNullable<Runbook["deploy"]>;
export type MonitorSpec = NonNullable<Runbook["monitor"]>;

interface Base {
  /** Stable across runs of the same runbook, the id in the event log: the basis of idempotency keys. */
  id: string;
  title: string;
  detail?: string;
}

/** A probe to measure, and the key of its value from before the deploy when it is compared with one. */
export interface Measured {
  probe: Probe;
  baseline?: string;
}

export interface GateStep extends Base {
  kind: "gate";
  gate: Gate;
  /** Gates that may run together share a group number. */
  parallelGroup?: number;
}

/** What a pre-flight check verifies. */
export type CheckSpec =
  | ({ type: "probe" } & Measured)
  | { type: "released"; in: string; min?: Duration }
  | { type: "parity"; parity: NonNullable<Runbook["parity"]> }
  | { type: "drift"; drift: NonNullable<Runbook["drift"]> }
  | { type: "migrations"; migrations: MigrationsSpec }
  | { type: "backup-age"; backup: BackupSpec }
  | { type: "command"; run: string; timeout?: Duration };

export interface CheckStep extends Base {
  kind: "check";
  check: CheckSpec;
}

export interface Approvers {
  role: string;
  count: number;
}

export interface ApprovalStep extends Base {
  kind: "approval";
  form: "confirm" | "decision" | "checklist" | "override" | "schedule";
  /** What people are asked, as the log and the live view say it. */
  what: string;
  approvers: Approvers[];
  /** Distinct people needed. */
  needed: number;
  timeout?: Duration;
  onTimeout: "abort" | "rollback" | "proceed";
  /** While nobody has answered: ask again this often, paging the next `escalation` role each time. */
  remind?: Duration;
  escalation?: Array<{ role: string; members: string[] }>;
  items?: string[];
  /** Whether the person who started the release may approve it too. */
  allowSelfApproval: boolean;
  /** Checks measured for each approver when they approve: the evidence recorded with the approval. */
  inputs: Array<{ name: string } & Measured>;
  /** A decision's meaning: what a rejection does (see schema/people.ts). */
  choices?: "go-no-go" | "continue-rollback" | "complete-investigate";
  /** go-no-go: the environment's windows and freezes, and how much later the next try should be. */
  postpone?: { ms: number; windows: EnvironmentSpec["windows"]; freezes: EnvironmentSpec["freezes"] };
  /** complete-investigate: the role paged, with its members. */
  page?: { role: string; members: string[] };
}

/** The deployment window and freezes, judged when the run starts and again right before the deploy. */
export interface WindowStep extends Base {
  kind: "window";
  when: "start" | "deploy";
  windows: EnvironmentSpec["windows"];
  freezes: EnvironmentSpec["freezes"];
  override?: { roles: string[]; count: number };
  /** An override given when the release was started (`release --override REASON`), checked then. */
  granted?: { by: string; role: string; reason: string };
}

/** An item of the release schedule, at its time from T: before the deploy, T is the planned deploy time; after it, the deploy itself. */
export interface ScheduleStep extends Base {
  kind: "schedule";
  offset: { text: string; ms: number };
  /** Before the deploy: the planned deploy time (ISO) the item is timed from. */
  plannedT?: string;
  owner?: { role: string; members: string[] };
  tasks: string[];
  checks: Array<{ name: string } & Measured>;
  run?: string;
  signoff: boolean;
  remind?: Duration;
}

export interface BackupStep extends Base {
  kind: "backup";
  backup: BackupSpec;
}

export interface BaselineStep extends Base {
  kind: "baseline";
  /** Where the value is kept: an integrity check's name, `checks.<name>` or `signals.<name>`. */
  key: string;
  probe: Probe;
}

export interface MigrateStep extends Base {
  kind: "migrate";
  phase: "expand" | "contract";
  migrations: MigrationsSpec;
}

export interface DeployStep extends Base {
  kind: "deploy";
  deploy: DeploySpec;
}

export interface CanaryStep extends Base {
  kind: "canary";
  /** 1-based position among the canary steps. */
  index: number;
  /** Share of traffic on the new version (1: promoted). */
  weight: number;
  hold?: Duration;
  /** The deploy's timeout: a shift gives up after it. */
  timeout: Duration;
  /** Named checks measured at the end of the hold. */
  checks: Array<{ name: string } & Measured>;
}

export interface SmokeStep extends Base, Measured {
  kind: "smoke";
}

export interface IntegrityStep extends Base, Measured {
  kind: "integrity";
}

export interface CheckpointStep extends Base {
  kind: "checkpoint";
  at: Duration;
  checks: Array<{ name: string } & Measured>;
}

export interface SuccessStep extends Base {
  kind: "success";
  after: Duration;
  without: string[];
}

/** The forms a rollback step takes. */
export type RollbackForm =
  | { form: "revert"; timeout?: Duration }
  | { form: "run"; run: string; timeout?: Duration }
  | ({ form: "check"; check: string } & Measured)
  | { form: "wait"; wait: Duration }
  | { form: "confirm"; approval: Omit<ApprovalStep, keyof Base | "kind"> }
  | {
      form: "migrations";
      strategy: "down" | "restore";
      migrations?: MigrationsSpec;
      backup?: BackupSpec;
    }
  | { form: "notify"; template: string; to?: string[] }
  | { form: "choose"; choice: RollbackChoice };

/** A rollback step that chooses: the first option whose condition holds, else a member of `by`'s pick, else `default`. */
export interface RollbackChoice {
  /** The role whose member picks when no condition holds, with its members. */
  by?: { role: string; members: string[] };
  /** How long to wait for the pick before `default` is taken (none: until someone picks). */
  timeout?: Duration;
  default: string;
  options: Array<{ name: string; description?: string; when?: Condition; steps: RollbackStep[] }>;
  /** The monitor's signals the conditions read, measured when the choice is made. */
  signals: Record<string, Probe>;
}

export type RollbackStep = Base & { kind: "rollback"; within?: Duration } & RollbackForm;

export type PlanStep =
  | ScheduleStep
  | WindowStep
  | GateStep
  | CheckStep
  | ApprovalStep
  | BackupStep
  | BaselineStep
  | MigrateStep
  | DeployStep
  | CanaryStep
  | SmokeStep
  | IntegrityStep
  | CheckpointStep
  | SuccessStep
  | RollbackStep;

export type StepKind = PlanStep["kind"];
export type StepOf<K extends StepKind> = Extract<PlanStep, { kind: K }>;

export interface PlanPhase {
  name: string;
  steps: PlanStep[];
}

export interface TimelineEntry {
  at: string;
  offsetMs: number;
  /** Wall-clock time when the plan was made with `--at`. */
  time?: string;
  what: string[];
}

export interface ReleasePlan {
  runbook: { name: string; service: string; file: string };
  environment: string;
  ref?: { ref: string; kind: "tag" | "commit"; version: string; rc: boolean };
  /** The ref asked for with --ref, also when the release policy refuses it. */
  requestedRef?: string;
  /** T, the moment of the deploy, when the plan was made with `--at`. */
  at?: string;
  window: WindowStatus;
  /** The environment's timeScale: the timeline's spans in this plan are already divided by it. */
  timeScale?: number;
  phases: PlanPhase[];
  timeline: TimelineEntry[];
  /** What is watched after the deploy: shown by `gantry plan`, sampled by the engine. */
  monitor?: {
    interval: string;
    signals: string[];
    rules: string[];
    spec: MonitorSpec;
    /** The last checkpoint or the success time: monitoring's end, from T. */
    endsAfterMs: number;
  };
  /** How the release goes back, with the provider to restore through. */
  rollback?: {
    target: string;
    targetMs?: number;
    targets: Partial<Record<string, number>>;
    steps: RollbackStep[];
  };
  /** The provider the deploy, the rollback and the last-known-good record go through. */
  deploy?: DeploySpec;
  notifications: string[];
  /** Each role's members as the runbook names them: who may approve, sign off, confirm. */
  roles: Record<string, string[]>;
  /** The role whose member may roll a release back by hand (none: anyone who may act). */
  rollbackBy?: string;
  /** How many different members of `rollbackBy` must ask before a manual rollback starts (absent: one). */
  rollbackCount?: number;
  /** Response targets per severity: the timers a fired rule's incident starts, and who is paged when they run out. */
  slas: Partial<
    Record<
      string,
      { ackMs: number; mitigateMs: number; escalation: Array<{ role: string; members: string[] }> }
    >
  >;
  /** Who answers pages when: roles' backups and hours, components' owners and escalation (absent: no such settings). */
  paging?: PagingPlan;
  success?: string;
  /** Reasons a release would be refused right now (ref, missing configuration). */
  blockers: string[];
}
