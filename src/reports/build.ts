/**
 * Builds the release record from a run's events, in order: the run's state as `gantry status`
 * folds it (src/engine/state.ts), and one pass for what only reports need — approvals with
 * their evidence, messages, measurements, verdicts, losses, incidents. Nothing else is read.
 */
import { foldRun, type StepView } from "../engine/state.js";
import type { MonitorRule } from "../store/event-kinds.js";
import type { RunEvent } from "../store/events.js";
import type {
  ChecklistRecord,
  CheckpointRecord,
  DecisionRecord,
  IncidentRecord,
  MessageRecord,
  ReleaseRecord,
  SignalSeries,
  StepRecord,
  TargetRecord,
} from "./record.js";

/** The record of a run, or undefined when `events` hold no run (no `run.created`). */
export function buildRecord(events: RunEvent[]): ReleaseRecord | undefined {
  const view = foldRun(events, true);
  if (!view) return undefined;
  const steps = view.steps.map(stepRecord);
  const notes = gather(events);
  const rollback = rollbackOf(events, steps);
  const finished = events.find((e) => e.kind === "run.finished");
  const end = view.finishedAt ?? view.lastEventAt;
  return {
    run: view.id,
    runbook: view.runbook,
    service: view.service,
    environment: view.environment,
    version: view.version,
    previousVersion: view.previousVersion ?? null,
    ref: view.ref,
    sha: text(events.find((e) => e.kind === "run.started")?.data.sha),
    operator: { name: view.operator, authenticated: view.authenticated },
    approvers: notes.approvers,
    createdAt: view.createdAt,
    finishedAt: view.finishedAt ?? null,
    status: view.status,
    outcome: view.outcome ?? null,
    reason: view.reason ?? null,
    durationMs: Date.parse(end) - Date.parse(view.createdAt),
    timeline: steps,
    gates: steps.filter((s) => s.kind === "gate"),
    smoke: steps.filter((s) => s.kind === "smoke"),
    checks: steps.filter((s) => s.kind === "check" || s.kind === "integrity"),
    checkpoints: steps.filter((s) => s.kind === "checkpoint").map((s) => checkpointOf(s, notes.signals)),
    decisions: notes.decisions.map((d) => ended(d, steps)),
    checklists: notes.checklists.map((c) => ended(c, steps)),
    messages: notes.messages,
    monitor: notes.monitor,
    signals: notes.signals,
    verdicts: notes.verdicts,
    gaps: notes.gaps,
    rollback,
    losses: notes.losses,
    incidents: notes.incidents,
    handoffs: notes.handoffs,
    targets: targetsOf(rollback, notes.incidents),
    unobservedMs: num(finished?.data.unobservedMs),
  };
}

function stepRecord(s: StepView): StepRecord {
  const started = s.startedAt ? Date.parse(s.startedAt) : undefined;
  const done = s.finishedAt ? Date.parse(s.finishedAt) : undefined;
  return {
    id: s.id,
    kind: s.kind,
    title: s.title,
    phase: s.phase,
    status: s.status,
    startedAt: s.startedAt ?? null,
    finishedAt: s.finishedAt ?? null,
    durationMs: started !== undefined && done !== undefined ? done - started : null,
    message: s.message ?? null,
  };
}

/** Everything a single pass over the events collects, beside the folded state. */
function gather(events: RunEvent[]) {
  const approvers: string[] = [];
  const person = (name: unknown) => {
    if (typeof name === "string" && !approvers.includes(name)) approvers.push(name);
  };
  const decisions: DecisionRecord[] = [];
  const checklists: ChecklistRecord[] = [];
  const messages = new Map<string, MessageRecord>();
  const signals = new Map<string, SignalSeries>();
  let rules: MonitorRule[] = [];
  const notes: Pick<ReleaseRecord, "monitor" | "verdicts" | "gaps" | "losses" | "incidents" | "handoffs"> = {
    monitor: null,
    verdicts: [],
    gaps: [],
    losses: [],
    incidents: [],
    handoffs: [],
  };
  /** The latest request of a step: answers go to it. */
  const latest = (step: string | null | undefined) => [...decisions].reverse().find((d) => d.step === step);
  const incident = (id: unknown) => notes.incidents.find((i) => i.incident === id);
  for (const e of events) {
    const d = e.data;
    switch (e.kind) {
      case "approval.waiting":
        if (Array.isArray(d.items)) {
          checklists.push({
            step: e.step ?? "",
            what: String(d.what),
            items: (d.items as string[]).map((t, i) => ({ item: i + 1, text: String(t), done: null })),
            signoffs: [],
            status: "waiting",
            message: null,
          });
        } else if (
          !decisions.some((x) => x.step === e.step && x.approvals.length === 0 && x.form === d.form)
        ) {
          decisions.push({
            step: e.step ?? "",
            what: String(d.what),
            form: String(d.form ?? "decision"),
            needed: Number(d.needed ?? 1),
            approvers: (d.approvers as DecisionRecord["approvers"] | undefined) ?? [],
            askedAt: e.at,
            approvals: [],
            rejections: [],
            reminders: 0,
            status: "waiting",
            message: null,
          });
        }
        break;
      case "approval": {
        person(d.by);
        const approval = {
          at: e.at,
          by: String(d.by),
          role: text(d.role),
          authenticated: typeof d.authenticated === "boolean" ? d.authenticated : null,
          comment: text(d.comment),
          evidence: (d.evidence as DecisionRecord["approvals"][number]["evidence"]) ?? null,
        };
        const list = checklists.find((c) => c.step === e.step);
        if (list) list.signoffs.push(approval);
        else latest(e.step)?.approvals.push(approval);
        break;
      }
      case "decision":
        if (d.type === "reject") {
          person(d.by);
          latest(text(d.step) ?? e.step)?.rejections.push({
            at: e.at,
            by: String(d.by),
            role: text(d.role),
            reason: text(d.reason),
          });
        }
        break;
      case "approval.reminded": {
        const asked = latest(e.step);
        if (asked) asked.reminders++;
        break;
      }
      case "checklist.item": {
        person(d.by);
        const item = checklists.find((c) => c.step === e.step)?.items[Number(d.item) - 1];
        if (item) item.done = { at: e.at, by: String(d.by), role: text(d.role), comment: text(d.comment) };
        break;
      }
      case "notify.queued":
        messages.set(String(d.message), {
          id: String(d.message),
          channel: String(d.channel),
          event: String(d.event),
          template: String(d.template),
          text: String(d.text ?? ""),
          queuedAt: e.at,
          state: "queued",
          at: null,
          detail: null,
          attempts: 0,
        });
        break;
      case "notify.sent":
      case "notify.failed": {
        const m = messages.get(String(d.message));
        if (!m) break;
        m.state = e.kind === "notify.sent" ? "sent" : "failed";
        m.at = e.at;
        m.detail = text(e.kind === "notify.sent" ? d.id : d.error);
        m.attempts = Number(d.attempt ?? d.attempts ?? 0);
        break;
      }
      case "monitor.started":
        notes.monitor = { t: String(d.t), endsAt: String(d.endsAt), interval: String(d.interval) };
        rules = Array.isArray(d.rules) ? (d.rules as MonitorRule[]) : [];
        for (const s of signals.values()) s.rules = rules.filter((r) => r.subject === s.name);
        break;
      case "measurement": {
        const name = String(d.signal);
        let series = signals.get(name);
        if (!series) {
          series = { name, points: [], rules: rules.filter((r) => r.subject === name) };
          signals.set(name, series);
        }
        series.points.push({
          at: String(d.at ?? e.at),
          sample: Number(d.sample),
          value: d.value ?? null,
          phase: String(d.phase),
        });
        break;
      }
      case "verdict":
        if (d.state === "ok") break;
        notes.verdicts.push({
          at: e.at,
          rule: String(d.rule),
          state: String(d.state),
          subject: text(d.subject),
          value: d.value ?? null,
          sample: Number(d.sample),
          severity: text(d.severity),
          action: text(d.action),
          watch: d.watch === true,
          text: String(d.reason ?? d.explanation ?? d.state),
        });
        break;
      case "monitor.gap":
        notes.gaps.push({ from: String(d.from), to: String(d.to), ms: Number(d.ms) });
        break;
      case "migrations.loss":
        notes.losses.push({
          step: e.step ?? "",
          at: e.at,
          strategy: String(d.strategy),
          applied: (d.applied as string[] | undefined) ?? [],
          statement: String(d.statement),
          losesData: d.losesData === true,
        });
        break;
      case "sla.started":
        notes.incidents.push({
          incident: String(d.incident),
          severity: String(d.severity),
          startedAt: e.at,
          ackBy: String(d.ackBy),
          mitigateBy: text(d.mitigateBy),
          escalation: (d.escalation as string[] | undefined) ?? [],
          met: [],
          breached: [],
        } satisfies IncidentRecord);
        break;
      case "sla.met":
        if (d.target === "ack") person(d.by);
        incident(d.incident)?.met.push({
          at: e.at,
          target: String(d.target),
          ms: Number(d.ms),
          by: text(d.by),
        });
        break;
      case "sla.breached":
        incident(d.incident)?.breached.push({
          at: e.at,
          target: String(d.target),
          message: String(d.message),
          escalatedTo: text(d.escalatedTo),
          ...(d.why ? { why: String(d.why) } : {}),
        });
        break;
      case "handoff":
        notes.handoffs.push({
          at: e.at,
          from: String(d.from),
          to: String(d.to),
          by: String(d.by),
          note: text(d.note),
        });
        break;
    }
  }
  return {
    ...notes,
    approvers,
    decisions,
    checklists,
    messages: [...messages.values()],
    signals: [...signals.values()],
  };
}

/** A decision or checklist with how its step ended. */
function ended<T extends { step: string; status: string; message: string | null }>(
  asked: T,
  steps: StepRecord[],
): T {
  const step = steps.find((s) => s.id === asked.step);
  if (!step) return asked;
  return { ...asked, status: step.status, message: step.message };
}

/** A checkpoint with each signal's last measurement up to its end. */
function checkpointOf(step: StepRecord, signals: SignalSeries[]): CheckpointRecord {
  const until = step.finishedAt ? Date.parse(step.finishedAt) : Number.POSITIVE_INFINITY;
  const values: CheckpointRecord["values"] = [];
  for (const s of signals) {
    const last = s.points.filter((p) => Date.parse(p.at) <= until).at(-1);
    if (last) values.push({ signal: s.name, value: last.value, phase: last.phase, at: last.at });
  }
  return { ...step, values };
}

function rollbackOf(events: RunEvent[], steps: StepRecord[]): ReleaseRecord["rollback"] {
  const started = events.find((e) => e.kind === "rollback.started");
  if (!started) return null;
  const finished = events.find((e) => e.kind === "rollback.finished");
  const s = started.data;
  const f = finished?.data ?? {};
  return {
    reason: String(s.reason),
    to: text(s.to),
    detectedAt: text(s.detectedAt),
    startedAt: started.at,
    finishedAt: finished?.at ?? null,
    ok: typeof f.ok === "boolean" ? f.ok : null,
    problems: (f.problems as string[] | undefined) ?? [],
    detectionLatencyMs: num(f.detectionLatencyMs) ?? num(s.detectionLatencyMs),
    detectToDoneMs: num(f.detectToDoneMs),
    targetMs: num(f.targetMs),
    withinTarget: typeof f.withinTarget === "boolean" ? f.withinTarget : null,
    steps: steps.filter((x) => x.phase === "rollback" || x.kind === "rollback"),
  };
}

/** The durations with targets: the rollback's, and each incident's response targets. */
function targetsOf(rollback: ReleaseRecord["rollback"], incidents: IncidentRecord[]): TargetRecord[] {
  const targets: TargetRecord[] = [];
  if (rollback) {
    targets.push({
      what: "detection latency (rule window elapsed → rollback started)",
      ms: rollback.detectionLatencyMs,
      targetMs: null,
      met: null,
    });
    targets.push({
      what: "detection to rollback complete (rollback.target)",
      ms: rollback.detectToDoneMs,
      targetMs: rollback.targetMs,
      met: rollback.withinTarget,
    });
  }
  const detected = rollback?.detectedAt ? Date.parse(rollback.detectedAt) : undefined;
  for (const i of incidents) {
    for (const target of ["mitigate", "ack"] as const) {
      const by = target === "ack" ? i.ackBy : i.mitigateBy;
      if (!by) continue;
      const met = i.met.find((m) => m.target === target);
      const breached = i.breached.some((b) => b.target === target);
      targets.push({
        what: `${i.severity} ${i.incident}: ${target === "ack" ? "time to acknowledge" : "time to mitigate"} (slas.${i.severity}.${target})`,
        ms: met?.ms ?? null,
        targetMs: detected !== undefined ? Date.parse(by) - detected : null,
        met: met && !breached ? true : breached ? false : null,
      });
    }
  }
  return targets;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}
