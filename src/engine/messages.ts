/**
 * What a message template sees: the run as it stands when the event happens. Everything here
 * is derived from recorded step results and samples (the ledger below is filled as a replay
 * returns them), so a message rendered again after a crash says what it said the first time.
 * Secrets and captured values are never among the values: a message leaves Gantry.
 */
import { formatMs } from "../exec/command.js";
import type { Measurement } from "../probes/types.js";
import type { NotifyEvent } from "../runbook/schema/notify.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import type { Moment, StepStatus } from "../steps/contract.js";

export type { Moment } from "../steps/contract.js";

/** One step as the run knows it: its start and, once it ended, its end. */
export interface StepRecord {
  id: string;
  kind: string;
  title: string;
  phase: string;
  status: StepStatus | "running";
  message: string;
  data: Record<string, unknown>;
}

/** Every step's latest record, in the order they started. */
export class StepLedger {
  private readonly steps = new Map<string, StepRecord>();

  start(id: string, kind: string, title: string, phase: string): void {
    this.steps.set(id, { id, kind, title, phase, status: "running", message: "", data: {} });
  }

  end(id: string, status: StepStatus, message: string, data: Record<string, unknown> = {}): void {
    const known = this.steps.get(id);
    const base = known ?? { id, kind: "", title: id, phase: "" };
    this.steps.set(id, { ...base, status, message, data });
  }

  all(): StepRecord[] {
    return [...this.steps.values()];
  }
}

export interface RunSnapshot {
  runId: string;
  service: string;
  env: string;
  version: string;
  operator: string;
  startedAt?: number;
  now: number;
  phase: string;
  outcome?: string;
  steps: StepRecord[];
  signals: Record<string, Measurement>;
  deployUrl?: string;
}

/** Where a run can be seen: GANTRY_PUBLIC_URL/runs/<id> when Gantry serves pages, else the command. */
export function runUrl(runId: string): string {
  const base = process.env.GANTRY_PUBLIC_URL?.replace(/\/+$/, "");
  return base ? `${base}/runs/${runId}` : `gantry status ${runId}`;
}

/** The template values of a message: `base` is the run's (release, env, service…), secrets removed here. */
export function messageValues(
  runbook: Runbook,
  base: Record<string, unknown>,
  run: RunSnapshot,
  moment: Moment,
): Record<string, unknown> {
  const { secrets: _secrets, captures: _captures, ...safe } = base;
  const steps = run.steps.map(({ data: _data, ...s }) => s);
  const smoke = run.steps.filter((s) => s.kind === "smoke");
  const passed = smoke.filter((s) => s.status === "passed").map((s) => s.title);
  const failed = smoke.filter((s) => s.status === "failed").map((s) => s.title);
  const roles = Object.fromEntries(
    Object.entries(runbook.roles).map(([name, r]) => [
      name,
      { members: r.members, names: r.members.join(", ") },
    ]),
  );
  const url = runUrl(run.runId);
  const rb = moment.rollback;
  const env = safe.env as { vars?: Record<string, unknown> } | undefined;
  const dashboard = env?.vars?.dashboard_url ?? env?.vars?.dashboard;
  return {
    ...safe,
    run: {
      ...(safe.run as object),
      id: run.runId,
      url,
      operator: run.operator,
      startedAt: run.startedAt !== undefined ? new Date(run.startedAt).toISOString() : undefined,
      elapsed: run.startedAt !== undefined ? formatMs(Math.max(0, run.now - run.startedAt)) : "0s",
      phase: run.phase,
      outcome: moment.outcome ?? run.outcome,
    },
    steps,
    smoke: { passed, failed, total: smoke.length },
    signals: Object.fromEntries(
      Object.entries(run.signals).map(([n, m]) => [
        n,
        { value: m.value ?? null, phase: m.phase, message: m.message, at: m.finishedAt },
      ]),
    ),
    checks: checkResults(run.steps),
    roles,
    reason: moment.reason,
    rule: moment.rule ?? {},
    checkpoint: moment.checkpoint ?? {},
    incident: moment.incident ?? {},
    page: moment.page ?? {},
    schedule: moment.schedule ?? {},
    rollback: rb
      ? {
          reason: rb.reason,
          startedAt: rb.startedAt,
          version: rb.version,
          to: rb.version,
          from: run.version,
          duration: rb.durationMs !== undefined ? formatMs(rb.durationMs) : undefined,
          durationMs: rb.durationMs,
          target: rb.targetMs !== undefined ? formatMs(rb.targetMs) : undefined,
          targetMs: rb.targetMs,
          withinTarget: rb.withinTarget,
          detectionLatency: rb.detectionLatencyMs !== undefined ? formatMs(rb.detectionLatencyMs) : undefined,
          detectionLatencyMs: rb.detectionLatencyMs,
        }
      : {},
    deploy: { url: run.deployUrl, id: run.version },
    links: { run: url, ...(dashboard ? { dashboard } : {}) },
  };
}

/** `checks.<name>`: the latest measured result of each named check (pre-flight, checkpoint or rollback). */
function checkResults(steps: StepRecord[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of steps) {
    if (s.status === "running" || s.data.phase === undefined) continue;
    const name = /(?:^|:)check:([^:]+)$/.exec(s.id)?.[1] ?? s.data.check ?? s.id.split(":").at(-1);
    out[String(name)] = { value: s.data.value ?? null, phase: s.data.phase, message: s.message };
  }
  return out;
}

/** The release's status in one line, for the top of its thread. */
export function statusLine(event: NotifyEvent | "test", run: RunSnapshot, moment: Moment): string {
  const v = run.version;
  const why = moment.reason ? `: ${moment.reason}` : "";
  switch (event) {
    case "release.completed":
      return `✅ ${v} released to ${run.env}`;
    case "release.failed":
      return `❌ ${v} not released (${moment.outcome ?? "failed"})${why}`;
    case "gate.failed":
      return `❌ gate ${moment.gate ?? ""} failed`;
    case "rollback.started":
    case "rollback.progress":
    case "incident.opened":
      return `⏪ rolling back ${v}${why}`;
    case "rollback.completed":
    case "customer.notice":
      return `↩️ rolled back to ${moment.rollback?.version ?? "the previous version"}${
        moment.rollback?.durationMs !== undefined ? ` in ${formatMs(moment.rollback.durationMs)}` : ""
      }`;
    case "approval.requested":
      return `⏸️ waiting for ${moment.approval?.what ?? "a person"}`;
    case "schedule.due":
      return `🗓️ ${moment.schedule?.name ?? "schedule item"} is due`;
    case "role.paged":
      return `📟 paged ${moment.page?.role ?? "a role"}${why}`;
    case "checkpoint.passed":
      return `🟢 releasing ${v}: checkpoint ${moment.checkpoint?.name ?? ""} passed`;
    default:
      return `▶️ releasing ${v} to ${run.env}: ${run.phase}`;
  }
}
