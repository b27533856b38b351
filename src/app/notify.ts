/**
 * Notifications outside a release: what a template says for an event (with sample values, or
 * with a recorded run's), and one test message through a channel. The engine sends the real
 * ones (src/engine/notifier.ts, courier.ts); this renders with the same values and the same
 * channel modules, so what a preview shows is what a release sends.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { createChannel } from "../channels/registry.js";
import type { Delivery } from "../channels/types.js";
import { baseValues, environmentScope } from "../checks/scope.js";
import {
  type Moment,
  messageValues,
  type RunSnapshot,
  type StepRecord,
  statusLine,
} from "../engine/messages.js";
import { foldRun } from "../engine/state.js";
import type { Measurement } from "../probes/types.js";
import type { NotifyEvent } from "../runbook/schema/notify.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { renderTemplate } from "../runbook/template.js";
import type { RunEvent } from "../store/events.js";
import { Refusal } from "./refusal.js";

export interface Preview {
  channel: string;
  type: string;
  template: string;
  subject?: string;
  text: string;
  status: string;
  /** Why the template could not be filled in. */
  error?: string;
}

/** Renders every message `event` sends: with `events` (a recorded run) its values, else samples. */
export function previewMessages(
  runbook: Runbook,
  file: string,
  env: string,
  event: NotifyEvent,
  events?: RunEvent[],
): Preview[] {
  const subs = (runbook.notify?.on ?? []).filter((s) => s.event === event);
  if (subs.length === 0) {
    const sent = [...new Set((runbook.notify?.on ?? []).map((s) => s.event))];
    throw new Refusal(
      "not-found",
      `no message is sent on ${event}; this runbook sends on: ${sent.join(", ") || "nothing (notify.on is empty)"}`,
    );
  }
  const scope = environmentScope(runbook, env, file);
  const { run, moment } = events ? recorded(events) : sample(runbook, env);
  const base = baseValues(runbook, env, file, scope.secrets);
  const release = {
    version: run.version,
    previousVersion: moment.rollback?.version ?? "1.2.2",
    ref: `v${run.version}`,
    tag: `v${run.version}`,
    sha: "0123456789abcdef0123456789abcdef01234567",
    changelog: "- (the release's changelog)",
  };
  const values = messageValues(runbook, { ...base, release }, run, moment);
  const root = path.dirname(path.resolve(file));
  const out: Preview[] = [];
  for (const s of subs) {
    const template = runbook.notify?.templates[s.template];
    for (const channel of s.to) {
      const type = runbook.notify?.channels[channel]?.type ?? "?";
      const status = statusLine(event, run, moment);
      try {
        const fill = (t: string) => scope.secrets.redact(renderTemplate(t, values, { root }));
        out.push({
          channel,
          type,
          template: s.template,
          ...(template?.subject ? { subject: fill(template.subject) } : {}),
          text: fill(template?.text ?? ""),
          status,
        });
      } catch (e) {
        out.push({ channel, type, template: s.template, text: "", status, error: (e as Error).message });
      }
    }
  }
  return out;
}

/** Sends one test message through `channel`, as a release would (its key is new each time). */
export async function testChannel(
  runbook: Runbook,
  file: string,
  env: string,
  name: string,
  operator: string,
): Promise<Delivery & { target: string; type: string }> {
  const spec = runbook.notify?.channels[name];
  if (!spec) {
    const known = Object.keys(runbook.notify?.channels ?? {});
    throw new Refusal(
      "not-found",
      `no channel ${name} in notify.channels (channels: ${known.join(", ") || "none"})`,
    );
  }
  const scope = environmentScope(runbook, env, file);
  const channel = createChannel(spec, name, {
    field: scope.field,
    redact: scope.secrets.redact,
    dir: scope.dir,
  });
  const service = runbook.metadata.service;
  const text = `Test message from Gantry: ${service} in ${env} will be told here (channel ${name}), sent by ${operator}.`;
  const d = await channel.send(
    {
      key: `test.${randomUUID()}`,
      event: "test",
      subject: `Gantry test: ${service} (${env})`,
      text,
      release: { run: "test", service, environment: env, version: "test" },
      status: "test message",
      at: new Date().toISOString(),
      data: { operator },
    },
    AbortSignal.timeout(spec.timeout.ms + 5000),
  );
  const safe: Delivery = d.ok ? d : { ...d, error: scope.secrets.redact(d.error) };
  return { ...safe, target: channel.target, type: spec.type };
}

function sample(runbook: Runbook, env: string): { run: RunSnapshot; moment: Moment } {
  const now = Date.now();
  const rule = runbook.monitor?.rules[0];
  const steps: StepRecord[] = runbook.smoke.map((s, i) => ({
    id: `smoke:${"name" in s && s.name ? s.name : i}`,
    kind: "smoke",
    title: "name" in s && s.name ? s.name : "check" in s ? String(s.check) : `smoke ${i + 1}`,
    phase: "smoke",
    status: "passed",
    message: "sample",
    data: {},
  }));
  const signals: Record<string, Measurement> = {};
  for (const n of Object.keys(runbook.monitor?.signals ?? {}))
    signals[n] = { phase: "successful", value: 0.004, message: "sample", startedAt: "", finishedAt: "" };
  const reason = rule ? `${rule.when.text} for ${rule.for.text} (sample)` : "a sample reason";
  const checkpoint = runbook.monitor?.checkpoints[0];
  return {
    run: {
      runId: "00000000-sample",
      service: runbook.metadata.service,
      env,
      version: "1.2.3",
      operator: "sample-operator",
      startedAt: now - 25 * 60_000,
      now,
      phase: "monitor",
      steps,
      signals,
      ...(runbook.environments[env]?.url ? { deployUrl: runbook.environments[env]!.url! } : {}),
    },
    moment: {
      reason,
      ...(rule
        ? {
            rule: {
              name: rule.name,
              severity: rule.severity,
              when: rule.when.text,
              value: 0.12,
              for: rule.for.text,
            },
            incident: { id: "INC-sample", severity: rule.severity },
          }
        : {}),
      ...(checkpoint
        ? {
            checkpoint: {
              at: checkpoint.at.text,
              name: `checkpoint ${checkpoint.at.text}`,
              status: "passed",
            },
          }
        : {}),
      rollback: {
        reason,
        startedAt: new Date(now - 60_000).toISOString(),
        durationMs: 95_000,
        ...(runbook.rollback?.target ? { targetMs: runbook.rollback.target.ms } : {}),
        version: "1.2.2",
      },
    },
  };
}

/** The values a recorded run had at its end. */
function recorded(events: RunEvent[]): { run: RunSnapshot; moment: Moment } {
  const view = foldRun(events, false);
  if (!view) throw new Refusal("not-found", "the run has no record");
  const signals: Record<string, Measurement> = {};
  const moment: Moment = {};
  for (const e of events) {
    const d = e.data;
    if (e.kind === "measurement")
      signals[String(d.signal)] = {
        phase: d.phase as Measurement["phase"],
        value: d.value as Measurement["value"],
        message: String(d.message),
        startedAt: String(d.at),
        finishedAt: String(d.at),
      };
    if (e.kind === "rollback.started") {
      moment.reason = String(d.reason);
      moment.rollback = {
        reason: String(d.reason),
        startedAt: e.at,
        ...(d.to ? { version: String(d.to) } : {}),
      };
    }
    if (e.kind === "rollback.finished" && moment.rollback && typeof d.detectToDoneMs === "number") {
      moment.rollback.durationMs = d.detectToDoneMs;
      if (typeof d.targetMs === "number") moment.rollback.targetMs = d.targetMs;
    }
  }
  if (view.outcome) moment.outcome = view.outcome;
  if (view.reason && !moment.reason) moment.reason = view.reason;
  return {
    run: {
      runId: view.id,
      service: view.service,
      env: view.environment,
      version: view.version,
      operator: String(events[0]?.data.operator ?? ""),
      startedAt: Date.parse(view.createdAt),
      now: Date.parse(view.finishedAt ?? view.lastEventAt),
      phase: view.outcome ? "finished" : (view.current?.phase ?? ""),
      steps: view.steps.map((s) => ({
        id: s.id,
        kind: s.kind,
        title: s.title,
        phase: s.phase,
        status:
          s.status === "passed" || s.status === "failed" || s.status === "skipped" ? s.status : "running",
        message: s.message ?? "",
        data: {},
      })),
      signals,
    },
    moment,
  };
}
