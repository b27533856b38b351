/**
 * Every kind of event a run's log holds, with the data it carries. Writers are checked
 * against this at compile time (EventStore.append takes a NewEvent of one of these kinds);
 * readers (the run's view, the live progress, `gantry log`, reports) fold the same shapes.
 * Strings in any event's data are masked before they are stored.
 */

type Json = Record<string, unknown>;

/**
 * The log of what people do outside any run (identities added or revoked, freezes declared):
 * it is appended to and verified like a run's log, under this id, which no run can have.
 */
export const ACTIONS_LOG = "gantry:actions";

export interface EventData {
  /** The run was created: what it releases where, and its plan's steps. */
  "run.created": {
    runbook: string;
    service: string;
    environment: string;
    ref: string;
    version: string;
    file: string;
    operator: string;
    /** false: the database had no identities, and the operator is the OS user (or --as). */
    authenticated?: boolean;
    /** Each role's members, as the runbook names them. */
    roles?: Record<string, string[]>;
    /** The role whose members may roll back by hand. */
    rollbackBy?: string;
    /** How many of them must ask (absent: one). */
    rollbackCount?: number;
    queued: boolean;
    /** The engine version that executes it (absent: gantry-engine-1). */
    engine?: string;
    steps: Array<{
      id: string;
      kind: string;
      title: string;
      phase: string;
      at?: string;
      owner?: string | null;
    }>;
  };
  /** Execution began: what was serving before, the commit. */
  "run.started": { previousVersion?: string | undefined; sha?: string | undefined; version: string };
  "run.resumed": { pid: number };
  /** The executing process stopped (a signal, the database away): the run is resumable. */
  "run.interrupted": { signal: string; pid: number; error?: string | null; stopped: unknown[] };
  /** The executing process was replaced as executor. */
  "executor.lost": {
    pid: number;
    holder: { pid: number; host: string; verb: string } | null;
    stopped: unknown[];
  };
  "run.finished": {
    run: string;
    outcome: string;
    reason: string;
    version: string;
    previousVersion: string | null;
    rollback?: Json;
    unobservedMs?: number;
  };
  "step.started": { phase: string; kind: string; title: string };
  /** A step's end; `facts` are what later steps need, captured values sealed. */
  "step.finished": { status: "passed" | "failed" | "skipped"; message: string; facts?: Json } & Json;
  "step.progress": { message: string };
  /** One line a command printed (masked). */
  output: { line: string };
  "approval.waiting": {
    what: string;
    needed: number;
    form?: string;
    approvers?: Array<{ role: string; count: number }>;
    allowSelfApproval?: boolean;
    /** A checklist's items, each signed off on its own or with the whole list. */
    items?: string[];
    /** A rollback choice's options, the one taken when nobody picks, and until when a pick is waited for. */
    options?: Array<{ name: string; description?: string }>;
    default?: string;
    deadline?: string;
  };
  /** One person's approval: the role it counted for and the evidence they approved on. */
  approval: {
    by: string;
    count: number;
    needed: number;
    role?: string;
    comment?: string;
    authenticated?: boolean;
    /** A rollback choice's option, when the approval is a pick. */
    choice?: string;
    /** The decision's inputs as measured when the person approved, and their SHA-256. */
    evidence?: {
      inputs: Array<{ name: string; ok: boolean; value: unknown; message: string }>;
      hash: string;
    };
  };
  /** A control message as sent (by `gantry approve`, `rollback`, `abort`). */
  "control.sent": Json;
  /** A control message as the run received it. */
  decision: Json;
  /** Monitoring began at T: when it ends, how often it samples, each rule it judges and each checkpoint's moment (absent in runs an earlier Gantry recorded). */
  "monitor.started": {
    t: string;
    endsAt: string;
    interval: string;
    rules?: MonitorRule[];
    checkpoints?: Array<{ name: string; at: string }>;
  };
  /** Monitoring saw nothing for a while: from, to, how long, and how many fresh samples a checkpoint now needs. */
  "monitor.gap": { from: string; to: string; ms: number; freshNeeded: number };
  "checkpoint.next": { at: string; name: string };
  measurement: {
    signal: string;
    sample: number;
    phase: string;
    value: unknown;
    message: string;
    at: string;
  };
  /** A rule's verdict on a sample: pending (in breach, window not elapsed), fired, missing data, or ok again. */
  verdict: { rule: string; state: string; sample: number; subject?: string; watch?: boolean } & Json;
  "rollback.started": { reason: string; detectedAt: string; to: string | null; detectionLatencyMs?: number };
  "rollback.finished": { ok: boolean; problems?: string[] } & Json;
  /** A rollback choice was made: the option, and who or what chose it and why (src/steps/rollback/choose.ts). */
  "rollback.chosen": { option: string; by: "condition" | "person" | "default"; reason: string } & Json;
  "migrations.loss": { strategy: string; applied: string[]; statement: string; losesData: unknown };
  /** A schedule item's time was set: when it is due, its owner role and tasks. */
  "schedule.due": { due: string; owner: string | null; tasks: string[] };
  /** An incident's response targets began: when each runs out, who is paged then. */
  "sla.started": {
    incident: string;
    severity: string;
    ackBy: string;
    /** Absent for a paused rule: only its acknowledgement is timed. */
    mitigateBy?: string;
    escalation: string[];
    /** The fired rule's component, whose escalation this is (absent: the severity's slas escalation). */
    component?: string;
  };
  /** A response target was met: mitigated (the rollback completed) or acknowledged, after `ms`. */
  "sla.met": { incident: string; target: "ack" | "mitigate"; ms: number; by?: string };
  /** A response target ran out: recorded, and the next role of the escalation paged. */
  "sla.breached": {
    incident: string;
    severity: string;
    target: "ack" | "mitigate";
    message: string;
    /** The role paged; null when nobody was (the list ended, or nobody on it was on hours). */
    escalatedTo: string | null;
    /** The role of the list the page stood for, when its backup was paged instead. */
    for?: string;
    /** Why the page went where it went (on-call hours): "dba is off hours (Sat 14:00 EST); paged its backup senior-backend". */
    why?: string;
  };
  /** One item of a checklist marked done (gantry checklist RUN NAME --item N). */
  "checklist.item": { item: number; text: string; by: string; role?: string; comment?: string };
  /** The incident command was handed over during an incident or a rollback (gantry handoff). */
  handoff: { from: string; to: string; by: string; note: string | null };
  /** A complete-investigate decision was answered "investigate": who, why, the role paged. */
  investigation: { by: string; reason: string | null; paged: string | null; why?: string };
  /** A member asked for a manual rollback that needs several: the `count`-th of `needed`. */
  "rollback.requested": { by: string; reason: string; count: number; needed: number };
  /** A request still unanswered after `remind`: asked again (the n-th time), and the role paged, if any. */
  "approval.reminded": { reminder: number; paged: string | null; why?: string };
  /** The deployment window was closed when the run looked: why, when it opens, who may override. */
  "window.closed": { reason: string; nextOpen: string | null; override: Json | null };
  /** A freeze declared with `gantry freeze` (actions log). */
  "freeze.declared": {
    id: string;
    environment: string;
    /** Only this service's releases; none: every service's. */
    service?: string;
    from: string;
    until: string;
    reason: string;
    by: string;
    authenticated: boolean;
  };
  /** A freeze lifted before its end (actions log). */
  "freeze.lifted": { id: string; by: string; reason?: string };
  /** A message was rendered and handed to its channel's courier: the whole text, redacted. */
  "notify.queued": NotifyData & { subject?: string; text: string; required: boolean };
  /** One delivery attempt began (its result is notify.sent, notify.retry or notify.failed). */
  "notify.attempt": NotifyData & { attempt: number };
  /** The receiver accepted the message: its id there (Slack ts, Message-ID, webhook-id). */
  "notify.sent": NotifyData & { attempt: number; id: string; detail: string; excerpt: string };
  /** An attempt failed and another follows after `waitMs`. */
  "notify.retry": NotifyData & { attempt: number; error: string; waitMs: number };
  /** The message could not be delivered: after every retry, or refused for good. */
  "notify.failed": NotifyData & { attempts: number; error: string; required: boolean };
  /** In the actions log: an identity was added (the first one on a database is its administrator). */
  "identity.added": ActedBy & { name: string; roles: string[]; admin: boolean };
  /** In the actions log: every token of an identity was revoked; `tokens` are the ids revoked now. */
  "identity.revoked": ActedBy & { name: string; tokens: string[] };
  /** In the actions log: an identity's roles changed. */
  "identity.roles": ActedBy & { name: string; added: string[]; removed: string[]; roles: string[] };
  /** In the actions log: a token was issued to `name`; its id only, never the token. */
  "token.created": ActedBy & { name: string; tokenId: string; expiresAt: string | null };
  /** In the actions log: one token was revoked. */
  "token.revoked": ActedBy & { name: string; tokenId: string };
}

/** A monitoring rule as the run judges it: `error_rate > 0.05 for 3s (P0)`. */
export interface MonitorRule {
  name: string;
  /** The condition as written. */
  when: string;
  subject: string;
  op: string;
  /** The first clause's operand: a number (5% is 0.05, 200ms is 200) or a string; null for a baseline not measured. */
  threshold: number | string | null;
  /** The part of the timeline the rule is judged in, as written (T+0..T+30m). */
  during?: string;
  /** The `for` window as written, and in ms. */
  for: string;
  forMs: number;
  severity: string;
  /** A rule in watch mode: it records what it would do and does nothing. */
  watch: boolean;
}

/** Who did something recorded in the actions log, and whether a token proved it. */
export interface ActedBy {
  by: string;
  /** false: the database had no identities, so `by` is the name the person gave. */
  authenticated: boolean;
}

/** What every notify event names: the message, its channel and why it was sent. */
export interface NotifyData {
  message: string;
  channel: string;
  event: string;
  template: string;
}

export type EventKind = keyof EventData;
export const EVENT_KINDS: readonly EventKind[] = [
  "run.created",
  "run.started",
  "run.resumed",
  "run.interrupted",
  "executor.lost",
  "run.finished",
  "step.started",
  "step.finished",
  "step.progress",
  "output",
  "approval.waiting",
  "approval",
  "control.sent",
  "decision",
  "monitor.started",
  "monitor.gap",
  "checkpoint.next",
  "measurement",
  "verdict",
  "rollback.started",
  "rollback.finished",
  "rollback.chosen",
  "migrations.loss",
  "schedule.due",
  "sla.started",
  "sla.met",
  "sla.breached",
  "checklist.item",
  "handoff",
  "investigation",
  "approval.reminded",
  "rollback.requested",
  "window.closed",
  "freeze.declared",
  "freeze.lifted",
  "notify.queued",
  "notify.attempt",
  "notify.sent",
  "notify.retry",
  "notify.failed",
  "identity.added",
  "identity.revoked",
  "identity.roles",
  "token.created",
  "token.revoked",
];

/** An event to append: a kind with its data. */
export type NewEvent = {
  [K in EventKind]: {
    /** Unique within the run: writing the same key twice stores it once. */
    key: string;
    kind: K;
    step?: string | undefined;
    data: EventData[K];
    /** When it happened (ISO); default now. */
    at?: string;
  };
}[EventKind];
