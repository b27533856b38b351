/**
 * A run's state, derived from its event log and nothing else. `gantry status`, the live
 * progress view and `--json` results all read a RunView folded from the same events.
 */

import type { Outcome } from "../steps/contract.js";
import type { RunEvent } from "../store/events.js";
import { FIRST_ENGINE_VERSION } from "./version.js";

export { OUTCOMES, type Outcome } from "../steps/contract.js";

export type StepStatus = "pending" | "running" | "passed" | "failed" | "skipped" | "waiting";

export interface StepView {
  id: string;
  kind: string;
  title: string;
  phase: string;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface RunView {
  id: string;
  runbook: string;
  service: string;
  environment: string;
  ref: string;
  version: string;
  previousVersion?: string | undefined;
  file: string;
  /** The engine version that executes it: a run of an earlier one is finished by the Gantry that started it. */
  engine: string;
  createdAt: string;
  /** Where the run is now. `interrupted`: not finished and no gantry process is running it. */
  status: "queued" | "running" | "waiting" | "interrupted" | Outcome;
  outcome?: Outcome;
  reason?: string;
  steps: StepView[];
  /** The step going on now (or where an interrupted run stopped). */
  current?: StepView | undefined;
  /** Who started it, and whether that name was authenticated (false: a database without identities). */
  operator: string;
  authenticated: boolean;
  /** Each role's members as the runbook named them when the run was created. */
  roles: Record<string, string[]>;
  /** The role whose members may roll back by hand, when the runbook names one. */
  rollbackBy?: string | undefined;
  /** How many of them must ask for a manual rollback, and who has asked so far. */
  rollbackCount: number;
  rollbackAsked: string[];
  /** What the run waits for: an approval or a decision. */
  waiting?: Waiting | undefined;
  /** The monitoring window: when T was and when it ends. */
  monitor?: { t: string; endsAt: string; nextCheckpoint?: { at: string; name: string } } | undefined;
  rollback?: {
    reason: string;
    startedAt: string;
    finishedAt?: string;
    detectToDoneMs?: number;
    targetMs?: number;
    ok?: boolean;
  };
  /** Rules in watch mode that would have acted. */
  wouldHave: string[];
  /** The run's messages: how many were queued and delivered, and each that could not be. */
  messages: {
    queued: number;
    sent: number;
    failed: Array<{ channel: string; event: string; template: string; error: string; required: boolean }>;
  };
  finishedAt?: string;
  lastEventAt: string;
}

export interface Waiting {
  step: string;
  what: string;
  /** Who approved so far, in order. */
  approvals: string[];
  /** The role each approval counted for. */
  counted: Array<{ by: string; role?: string | undefined }>;
  needed: number;
  form: string;
  /** Each role and how many of its members must approve; none: anyone who may act. */
  approvers: Array<{ role: string; count: number }>;
  allowSelfApproval: boolean;
  /** A checklist's items, and those marked done one by one. */
  items?: string[];
  marked: Array<{ item: number; by: string }>;
  /** A rollback choice: the options a member of the role picks from, the default, and until when it waits. */
  options?: Array<{ name: string; description?: string }>;
  default?: string;
  deadline?: string;
}

interface PlanStepData {
  id: string;
  kind: string;
  title: string;
  phase: string;
}

/** Folds a run's events, in order, into its view. `executorAlive`: whether a gantry process is running runs now. */
export function foldRun(events: RunEvent[], executorAlive: boolean): RunView | undefined {
  const created = events.find((e) => e.kind === "run.created");
  if (!created) return undefined;
  const d = created.data as Record<string, unknown>;
  const steps = new Map<string, StepView>();
  // Requests still open, oldest first: a pause for a rule can come while a checklist waits, and the checklist waits on after it.
  const open: Waiting[] = [];
  for (const s of (d.steps as PlanStepData[] | undefined) ?? []) {
    steps.set(s.id, { ...s, status: "pending" });
  }
  const view: RunView = {
    id: created.runId,
    runbook: String(d.runbook),
    service: String(d.service),
    environment: String(d.environment),
    ref: String(d.ref),
    version: String(d.version),
    previousVersion: d.previousVersion as string | undefined,
    file: String(d.file),
    engine: String(d.engine ?? FIRST_ENGINE_VERSION),
    createdAt: created.at,
    operator: String(d.operator ?? ""),
    authenticated: d.authenticated === true,
    roles: (d.roles as Record<string, string[]> | undefined) ?? {},
    rollbackBy: d.rollbackBy as string | undefined,
    rollbackCount: typeof d.rollbackCount === "number" ? d.rollbackCount : 1,
    rollbackAsked: [],
    status: d.queued ? "queued" : "running",
    steps: [],
    wouldHave: [],
    messages: { queued: 0, sent: 0, failed: [] },
    lastEventAt: created.at,
  };
  const stepOf = (e: RunEvent): StepView => {
    const id = e.step ?? "?";
    let s = steps.get(id);
    if (!s) {
      s = {
        id,
        kind: String(e.data.kind ?? "step"),
        title: String(e.data.title ?? id),
        phase: String(e.data.phase ?? ""),
        status: "pending",
      };
      steps.set(id, s);
    }
    return s;
  };
  for (const e of events) {
    view.lastEventAt = e.at;
    switch (e.kind) {
      case "run.started":
        if (view.status === "queued") view.status = "running";
        if (e.data.previousVersion !== undefined) view.previousVersion = e.data.previousVersion as string;
        break;
      case "step.started": {
        const s = stepOf(e);
        // A retry of a step that finished before a crash does not make it run again.
        if (s.status === "passed" || s.status === "failed" || s.status === "skipped") break;
        s.status = "running";
        s.startedAt = e.at;
        delete s.message;
        break;
      }
      case "step.finished": {
        const s = stepOf(e);
        s.status = (e.data.status as StepStatus) ?? "passed";
        s.finishedAt = e.at;
        if (e.data.message) s.message = String(e.data.message);
        const i = open.findIndex((w) => w.step === s.id);
        if (i !== -1) open.splice(i, 1);
        view.waiting = open.at(-1);
        break;
      }
      case "step.progress": {
        const s = stepOf(e);
        if (e.data.message) s.message = String(e.data.message);
        break;
      }
      case "approval.waiting":
        open.splice(0, open.length, ...open.filter((w) => w.step !== (e.step ?? "")));
        view.waiting = {
          step: e.step ?? "",
          what: String(e.data.what ?? "approval"),
          approvals: [],
          counted: [],
          needed: Number(e.data.needed ?? 1),
          form: String(e.data.form ?? "decision"),
          approvers: (e.data.approvers as Waiting["approvers"] | undefined) ?? [],
          // A run of an earlier engine recorded no rule: it did not keep the initiator out.
          allowSelfApproval: e.data.allowSelfApproval !== false,
          ...(Array.isArray(e.data.items) ? { items: e.data.items as string[] } : {}),
          marked: [],
          ...(Array.isArray(e.data.options) ? { options: e.data.options as Waiting["options"] } : {}),
          ...(typeof e.data.default === "string" ? { default: e.data.default } : {}),
          ...(typeof e.data.deadline === "string" ? { deadline: e.data.deadline } : {}),
        };
        open.push(view.waiting);
        stepOf(e).status = "waiting";
        break;
      case "approval": {
        const w = open.find((x) => x.step === e.step) ?? view.waiting;
        if (w && !w.approvals.includes(String(e.data.by))) {
          w.approvals.push(String(e.data.by));
          w.counted.push({ by: String(e.data.by), role: e.data.role as string | undefined });
        }
        break;
      }
      case "checklist.item":
        view.waiting?.marked.push({ item: Number(e.data.item), by: String(e.data.by) });
        break;
      case "monitor.started":
        view.monitor = { t: String(e.data.t), endsAt: String(e.data.endsAt) };
        break;
      case "checkpoint.next":
        if (view.monitor) view.monitor.nextCheckpoint = { at: String(e.data.at), name: String(e.data.name) };
        break;
      case "verdict":
        if (e.data.watch && e.data.state === "fired") {
          view.wouldHave.push(`${String(e.data.reason)} → would ${String(e.data.action)} (watch only)`);
        }
        break;
      case "rollback.requested":
        view.rollbackAsked.push(String(e.data.by));
        break;
      case "rollback.started":
        view.rollback = { reason: String(e.data.reason), startedAt: e.at };
        for (const s of steps.values()) {
          if (s.status === "running" || s.status === "waiting") {
            s.status = "failed";
            s.finishedAt = e.at;
            s.message = "cut short: rolling back";
          }
        }
        break;
      case "rollback.finished":
        if (view.rollback) {
          view.rollback.finishedAt = e.at;
          view.rollback.ok = Boolean(e.data.ok);
          if (typeof e.data.detectToDoneMs === "number") view.rollback.detectToDoneMs = e.data.detectToDoneMs;
          if (typeof e.data.targetMs === "number") view.rollback.targetMs = e.data.targetMs;
        }
        break;
      case "notify.queued":
        view.messages.queued++;
        break;
      case "notify.sent":
        view.messages.sent++;
        break;
      case "notify.failed":
        view.messages.failed.push({
          channel: String(e.data.channel),
          event: String(e.data.event),
          template: String(e.data.template),
          error: String(e.data.error),
          required: e.data.required === true,
        });
        break;
      case "run.finished":
        view.outcome = e.data.outcome as Outcome;
        view.status = view.outcome;
        view.reason = String(e.data.reason ?? "");
        view.finishedAt = e.at;
        view.waiting = undefined;
        for (const s of steps.values()) {
          if (s.status === "running" || s.status === "waiting") {
            s.status = "skipped";
            s.finishedAt = e.at;
            s.message = `stopped: the run ended (${view.outcome})`;
          }
        }
        break;
    }
  }
  view.steps = [...steps.values()];
  view.current =
    view.steps.find((s) => s.status === "running" || s.status === "waiting") ??
    (view.outcome ? undefined : view.steps.find((s) => s.status === "pending"));
  if (!view.outcome) {
    if (!executorAlive && view.status !== "queued") view.status = "interrupted";
    else if (view.waiting) view.status = "waiting";
  }
  return view;
}
