/**
 * The rollback procedure: restore the last known good version through the plan's rollback
 * steps (each run by its form's module), verify it serves and is healthy, and end the run as
 * rolled_back, or failed when the procedure could not complete. Contract migrations not yet
 * applied are held back.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { formatMs } from "../exec/command.js";
import type { RollbackStep } from "../runbook/plan/types.js";
import type { Moment, RollbackCause, StepResult } from "../steps/contract.js";
import { moduleFor } from "../steps/registry.js";
import type { RunContext } from "./context.js";
import type { RunDurable } from "./durable.js";
import type { Notifier } from "./notifier.js";
import { settleSla } from "./sla.js";
import { RunFinished, type RunResult } from "./types.js";

/** Severities that open an incident when their rule fires. */
const INCIDENT_SEVERITIES = ["P0", "P1"];

/** What rollback messages say: the reason, the rule, the timing, and the incident a P0/P1 opens. */
function rollbackMoment(
  cause: RollbackCause,
  ctx: RunContext,
  startedAt: number,
  detected: number,
  targetMs: number | undefined,
  target: string | undefined,
): Moment {
  const incident =
    cause.rule && cause.severity && INCIDENT_SEVERITIES.includes(cause.severity)
      ? { id: `INC-${ctx.runId.slice(0, 8)}`, severity: cause.severity }
      : undefined;
  return {
    reason: cause.reason,
    ...(cause.rule ? { rule: cause.rule } : {}),
    ...(incident ? { incident } : {}),
    rollback: {
      reason: cause.reason,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: startedAt - detected,
      ...(targetMs !== undefined ? { targetMs } : {}),
      ...(target ? { version: target } : {}),
    },
  };
}

export async function rollBack(
  cause: RollbackCause & { detectedAt: number },
  ctx: RunContext,
  durable: RunDurable,
  notifier: Notifier,
  done: (info: RunResult["rollback"]) => void,
): Promise<never> {
  const startedAt = await DBOS.now();
  const plan = ctx.plan;
  const target = ctx.facts.previousVersion;
  const heldBack =
    plan.phases.some((p) => p.steps.some((s) => s.id === "migrate:contract")) && !ctx.facts.contractDone;
  if (heldBack) await durable.finished("migrate:contract", "skipped", `held back: ${cause.reason}`);
  const spec = plan.rollback;
  const targetMs = (cause.severity ? spec?.targets[cause.severity] : undefined) ?? spec?.targetMs;
  // Detection counts from when the rule's window elapsed, from the first sample that could have seen it.
  const detected = Math.min(cause.detectedAt, cause.windowElapsedAt ?? cause.detectedAt);
  const latency =
    cause.windowElapsedAt !== undefined ? { detectionLatencyMs: startedAt - cause.windowElapsedAt } : {};
  await durable.event({
    key: "rollback:started",
    kind: "rollback.started",
    data: {
      reason: cause.reason,
      detectedAt: new Date(detected).toISOString(),
      to: target ?? null,
      ...latency,
    },
  });
  const moment = rollbackMoment(cause, ctx, startedAt, detected, targetMs, target);
  notifier.during(moment);
  notifier.anchor("rollback", startedAt);
  if (moment.incident) await notifier.emit("incident.opened", "incident.opened", moment);
  await notifier.emit("rollback.started", "rollback.started", moment);
  if (!target) {
    await durable.event({ key: "rollback:finished", kind: "rollback.finished", data: { ok: false } });
    throw new RunFinished(
      "failed",
      `${cause.reason}; no earlier version is known to roll back to: ${ctx.version} may still be serving`,
    );
  }
  const problems: string[] = [];
  const perform = async (step: RollbackStep): Promise<StepResult | undefined> => {
    const module = moduleFor(step);
    if (!module) {
      problems.push(`${step.title}: not executable by this version`);
      return undefined;
    }
    let r: StepResult;
    if (module.mode === "act") r = await durable.tracked("rollback", step, module);
    else {
      await durable.started(step.id, step.kind, step.title, "rollback");
      r = await module.run(step, ctx);
      // A choice's result says which option and why: it goes with the step's end.
      const data = step.form === "choose" ? r.data : undefined;
      await durable.finished(step.id, r.ok ? "passed" : "failed", r.message, data);
    }
    if (!r.ok) problems.push(`${step.title}: ${r.message}`);
    return r;
  };
  for (const step of spec?.steps ?? []) {
    const r = await perform(step);
    // A choice runs the option it took (a recorded result): its steps stand where the choice stands.
    if (r?.ok && step.form === "choose") {
      const option = step.choice.options.find((o) => o.name === r.data?.option);
      for (const s of option?.steps ?? []) await perform(s);
    }
  }
  const verify = await durable.act("rollback:verify", async () => {
    await durable.event({
      key: "rollback:verify:started",
      kind: "step.started",
      step: "rollback:verify",
      data: { phase: "rollback", kind: "rollback", title: `verify ${target} is serving and healthy` },
    });
    const status = await ctx.provider("rollback:verify").status();
    const ok = status.healthy && (status.version === undefined || status.version === target);
    await durable.finished("rollback:verify", ok ? "passed" : "failed", status.message);
    return { ok, message: status.message };
  });
  const doneAt = await DBOS.now();
  const detectToDoneMs = doneAt - detected;
  const ok = problems.length === 0 && verify.ok;
  const info = {
    detectToDoneMs,
    ...(targetMs !== undefined ? { targetMs, withinTarget: detectToDoneMs <= targetMs } : {}),
    ...latency,
  };
  done(info);
  await durable.event({
    key: "rollback:finished",
    kind: "rollback.finished",
    data: { ok, ...info, problems },
  });
  if (ok) {
    const completed = { ...moment.rollback!, durationMs: detectToDoneMs, ...info };
    await notifier.emit("rollback.completed", "rollback.completed", { ...moment, rollback: completed });
    if (moment.incident)
      await notifier.emit("customer.notice", "customer.notice", { ...moment, rollback: completed });
  }
  // The incident's response targets: mitigation is this rollback; acknowledgement is waited for.
  if (moment.incident)
    await settleSla(moment.incident, detected, ok ? doneAt : undefined, moment, ctx, durable, notifier);
  const timing = `detection to rollback complete ${formatMs(detectToDoneMs)}${targetMs !== undefined ? ` (target ${formatMs(targetMs)}${detectToDoneMs <= targetMs ? "" : ", missed"})` : ""}`;
  if (!ok) {
    const all = [...problems, verify.ok ? "" : `verify: ${verify.message}`].filter(Boolean);
    throw new RunFinished(
      "failed",
      `${cause.reason} → rollback to ${target} did not complete: ${all.join("; ")}`,
    );
  }
  const held = heldBack ? "; contract migrations held back" : "";
  throw new RunFinished("rolled_back", `${cause.reason} → rolled back to ${target}${held}; ${timing}`);
}
