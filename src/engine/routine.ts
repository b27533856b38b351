/**
 * One occurrence of a routine: its checks run (the code path of `gantry check`), the result
 * recorded, and, when it failed (or passed again after a failure, with `onRecovery`), an alert
 * sent through each of its channels.
 *
 * Once per occurrence: an occurrence is the routine's name and its scheduled time. Its result
 * is one row (src/store/routines.ts) written once: whoever runs the occurrence again (a worker
 * restarted, `gantry routines run … --at`) finds it and runs no check. Each channel's
 * alert is recorded when the channel accepted it and carries the key of the occurrence and
 * channel; an alert that was not accepted is tried again the next time the occurrence runs.
 * In `gantry worker` the occurrence is a DBOS workflow whose id is the occurrence
 * (routine-loop.ts) and each part a recorded step, so a crash resumes it where it stood.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createChannel } from "../channels/registry.js";
import type { Delivery, Message } from "../channels/types.js";
import type { StructureStore } from "../checks/drift.js";
import { runChecks } from "../checks/run.js";
import { type EnvironmentScope, environmentScope } from "../checks/scope.js";
import { parseRunbookText } from "../runbook/load.js";
import type { ChannelSpec } from "../runbook/schema/notify.js";
import type { AlertKind, RecordedCheck, RoutineRun, RoutineStore } from "../store/routines.js";
import { alertMessage } from "./routine-alert.js";

export interface RoutineInput {
  file: string;
  /** The runbook's text when the occurrence started: a replay reads the same routine. */
  source: string;
  routine: string;
  /** The occurrence: its scheduled time (ISO, whole milliseconds). */
  occurrence: string;
  trigger: RoutineRun["trigger"];
}

export interface AlertResult {
  channel: string;
  kind: AlertKind;
  ok: boolean;
  /** Sent now (false: an earlier run of this occurrence sent it). */
  sent: boolean;
  detail: string;
}

export interface RoutineOutcome {
  run: RoutineRun;
  /** The occurrence had run before: its recorded result, no check run again. */
  repeated: boolean;
  alerts: AlertResult[];
}

/** Runs one part of the occurrence: a recorded DBOS step in a worker, a plain call in `gantry routines run`. */
export type RoutineStep = <T>(name: string, body: () => Promise<T>) => Promise<T>;

export interface RoutineDeps {
  store: RoutineStore;
  /** Where drift keeps the accepted config structure. */
  structures?: StructureStore;
  step: RoutineStep;
}

export async function runOccurrence(input: RoutineInput, deps: RoutineDeps): Promise<RoutineOutcome> {
  const runbook = parseRunbookText(input.source);
  const spec = runbook?.routines.find((r) => r.name === input.routine);
  if (!runbook || !spec) throw new Error(`no routine ${input.routine} in ${input.file}`);
  const service = runbook.metadata.service;
  const { store, step } = deps;
  const at = { service, routine: spec.name, occurrence: input.occurrence };
  const existing = await step("recorded", () => store.get(service, spec.name, input.occurrence));
  const run =
    existing ??
    (await step("run", async () => {
      const startedAt = new Date().toISOString();
      const results = await runChecks(runbook, spec.env, spec.checks, {
        file: input.file,
        ...(deps.structures ? { store: deps.structures } : {}),
      });
      const recorded: RecordedCheck[] = results.map((r) => ({
        name: r.name,
        type: r.type,
        threshold: r.threshold,
        phase: r.measurement.phase,
        value: r.measurement.value ?? null,
        message: r.measurement.message,
      }));
      return store.record({
        ...at,
        trigger: input.trigger,
        environment: spec.env,
        passed: recorded.every((r) => r.phase === "successful"),
        results: recorded,
        startedAt,
      });
    }));
  const previous = await step("previous", () => store.before(service, spec.name, input.occurrence));
  const kind: AlertKind | undefined = !run.passed
    ? "failure"
    : spec.alert?.onRecovery && previous && !previous.passed
      ? "recovery"
      : undefined;
  const alerts: AlertResult[] = [];
  if (kind && spec.alert) {
    const scope = environmentScope(runbook, spec.env, input.file);
    for (const channel of spec.alert.to) {
      alerts.push(
        await step(`alert:${channel}`, async (): Promise<AlertResult> => {
          if (await store.alerted(service, spec.name, input.occurrence, channel))
            return { channel, kind, ok: true, sent: false, detail: "sent before" };
          const key = `routine:${service}:${spec.name}:${input.occurrence}:${channel}`;
          const message = alertMessage({
            runbook,
            file: input.file,
            spec,
            run,
            kind,
            ...(previous ? { previous } : {}),
            scope,
            key,
          });
          const d = await deliver(runbook.notify?.channels[channel], channel, scope, message);
          if (d.ok) await store.markAlerted({ ...at, channel }, kind, key, d.detail);
          return { channel, kind, ok: d.ok, sent: d.ok, detail: d.ok ? d.detail : d.error };
        }),
      );
    }
  }
  return { run, repeated: existing !== undefined, alerts };
}

/** One alert through one channel, retried on the channel's schedule (`retry`). Never throws. */
async function deliver(
  spec: ChannelSpec | undefined,
  name: string,
  scope: EnvironmentScope,
  message: Message,
): Promise<Delivery> {
  if (!spec) return { ok: false, error: `no channel ${name} in notify.channels`, retryable: false };
  let channel: ReturnType<typeof createChannel>;
  try {
    channel = createChannel(spec, name, { field: scope.field, redact: scope.secrets.redact, dir: scope.dir });
  } catch (e) {
    const error = `channel ${name} cannot be used: ${scope.secrets.redact((e as Error).message)}`;
    return { ok: false, error, retryable: false };
  }
  for (let attempt = 0; ; attempt++) {
    const d = await channel.send(message, AbortSignal.timeout(spec.timeout.ms + 5000));
    if (d.ok) return d;
    const wait = spec.retry[attempt];
    if (!d.retryable || wait === undefined) return { ...d, error: scope.secrets.redact(d.error) };
    await sleep(Math.max(wait.ms, d.retryAfterMs ?? 0));
  }
}
