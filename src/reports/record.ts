/**
 * The release record: one view model of a run for every report (Markdown, HTML, JSON, JUnit,
 * the GitHub job summary, the postmortem draft). It is built from the run's event log only
 * (build.ts), so a report says what was recorded and nothing else; the events are masked
 * when they are stored, so no secret reaches it.
 */
import type { Outcome } from "../engine/state.js";
import type { MonitorRule } from "../store/event-kinds.js";

export interface ReleaseRecord {
  run: string;
  runbook: string;
  service: string;
  environment: string;
  version: string;
  /** What was serving before, the rollback target. */
  previousVersion: string | null;
  ref: string;
  /** The commit the ref resolved to, when it is a git commit. */
  sha: string | null;
  /** Who started the run; `authenticated` false: the database had no identities. */
  operator: { name: string; authenticated: boolean };
  /** Everyone whose approval, sign-off or rejection was recorded, in order. */
  approvers: string[];
  createdAt: string;
  finishedAt: string | null;
  /** Where the run stands: its outcome once it finished. */
  status: string;
  outcome: Outcome | null;
  reason: string | null;
  /** From the run's creation to its end (or its last event). */
  durationMs: number;
  /** Every step of the plan in order, each as far as it got. */
  timeline: StepRecord[];
  gates: StepRecord[];
  smoke: StepRecord[];
  /** Pre-flight checks and integrity checks. */
  checks: StepRecord[];
  checkpoints: CheckpointRecord[];
  decisions: DecisionRecord[];
  checklists: ChecklistRecord[];
  messages: MessageRecord[];
  /** The monitoring window, when the run got that far. */
  monitor: { t: string; endsAt: string; interval: string } | null;
  signals: SignalSeries[];
  /** Rule verdicts other than "ok": pending, fired, missing data. */
  verdicts: VerdictRecord[];
  gaps: Array<{ from: string; to: string; ms: number }>;
  rollback: RollbackRecord | null;
  /** What undoing the migrations would lose, as stated before they were undone. */
  losses: LossRecord[];
  incidents: IncidentRecord[];
  handoffs: Array<{ at: string; from: string; to: string; by: string; note: string | null }>;
  /** Every duration the runbook gives a target for, and the detection latency. */
  targets: TargetRecord[];
  /** Time the release went unobserved (a crash, the database away). */
  unobservedMs: number | null;
}

export interface StepRecord {
  id: string;
  kind: string;
  title: string;
  phase: string;
  status: "pending" | "running" | "passed" | "failed" | "skipped" | "waiting";
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  message: string | null;
}

export interface CheckpointRecord extends StepRecord {
  /** The last measurement of each signal when the checkpoint ended (or the run moved on). */
  values: Array<{ signal: string; value: unknown; phase: string; at: string }>;
}

export interface ApprovalRecord {
  at: string;
  by: string;
  role: string | null;
  authenticated: boolean | null;
  comment: string | null;
  /** The decision's inputs as measured when the person approved, and their SHA-256. */
  evidence: {
    inputs: Array<{ name: string; ok: boolean; value: unknown; message: string }>;
    hash: string;
  } | null;
}

export interface DecisionRecord {
  step: string;
  what: string;
  /** decision, confirm, pause, ack, override… as the run asked it. */
  form: string;
  needed: number;
  approvers: Array<{ role: string; count: number }>;
  askedAt: string;
  approvals: ApprovalRecord[];
  rejections: Array<{ at: string; by: string; role: string | null; reason: string | null }>;
  reminders: number;
  /** How it ended: the step's status and message. */
  status: string;
  message: string | null;
}

export interface ChecklistRecord {
  step: string;
  what: string;
  items: Array<{
    item: number;
    text: string;
    done: { at: string; by: string; role: string | null; comment: string | null } | null;
  }>;
  /** The sign-offs of the whole list. */
  signoffs: ApprovalRecord[];
  status: string;
  message: string | null;
}

export interface MessageRecord {
  id: string;
  channel: string;
  event: string;
  template: string;
  /** The text as rendered, redacted. */
  text: string;
  queuedAt: string;
  state: "sent" | "failed" | "queued";
  at: string | null;
  /** The receiver's id (sent) or the last error (failed). */
  detail: string | null;
  attempts: number;
}

export interface SignalSeries {
  name: string;
  points: Array<{ at: string; sample: number; value: unknown; phase: string }>;
  /** The rules that judge this signal, with their thresholds. */
  rules: MonitorRule[];
}

export interface VerdictRecord {
  at: string;
  rule: string;
  state: string;
  subject: string | null;
  value: unknown;
  sample: number;
  severity: string | null;
  action: string | null;
  watch: boolean;
  /** The verdict in words: `error_rate 0.342 > 0.05 for 2s (P0)`. */
  text: string;
}

export interface RollbackRecord {
  reason: string;
  /** The version rolled back to. */
  to: string | null;
  /** When the rule fired (or the rollback was decided). */
  detectedAt: string | null;
  startedAt: string;
  finishedAt: string | null;
  ok: boolean | null;
  problems: string[];
  detectionLatencyMs: number | null;
  detectToDoneMs: number | null;
  targetMs: number | null;
  withinTarget: boolean | null;
  steps: StepRecord[];
}

export interface LossRecord {
  step: string;
  at: string;
  strategy: string;
  applied: string[];
  statement: string;
  losesData: boolean;
}

export interface IncidentRecord {
  incident: string;
  severity: string;
  startedAt: string;
  ackBy: string;
  mitigateBy: string | null;
  escalation: string[];
  met: Array<{ at: string; target: string; ms: number; by: string | null }>;
  /** `why`: how the page went where it went (on-call hours), when it was not simply the next role. */
  breached: Array<{ at: string; target: string; message: string; escalatedTo: string | null; why?: string }>;
}

export interface TargetRecord {
  what: string;
  ms: number | null;
  targetMs: number | null;
  /** null: no target, or not measured. */
  met: boolean | null;
}
