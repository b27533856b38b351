/**
 * A pre-flight check: a probe, a promotion or soak requirement, parity with another
 * environment, drift, the migrations' lint, the age of the latest backup, or a command.
 * A failure ends the run before anything is deployed.
 */
import { runDrift } from "../checks/drift.js";
import { runParity } from "../checks/parity.js";
import { describeEnd, formatMs } from "../exec/command.js";
import { preflight as migrationsPreflight } from "../migrations/run.js";
import type { CheckSpec, CheckStep } from "../runbook/plan/types.js";
import { commandResult, DEFAULT_COMMAND_MS, guarded, lastLine, lastLines } from "./common.js";
import type { StepContext, StepModule, StepResult } from "./contract.js";

export const check: StepModule<"check"> = {
  kind: "check",
  mode: "act",
  run: (step, ctx) => verify(step, step.check, ctx),
  onFail: (step, r, ctx) => ({
    to: "finish",
    outcome: "failed",
    reason: `pre-flight ${step.title}: ${r.message}${ctx.deployedNote()}`,
  }),
};

async function verify(step: CheckStep, c: CheckSpec, ctx: StepContext): Promise<StepResult> {
  switch (c.type) {
    case "probe":
      return ctx.measure(step.id, c);
    case "released":
      return released(c, ctx);
    case "parity": {
      const other = ctx.scopeOf(c.parity.with);
      const r = await runParity(c.parity, ctx.scope, other);
      const redact = (t: string) => other.secrets.redact(ctx.redact(t));
      return {
        ok: r.phase === "successful",
        message: redact(r.message),
        data: { phase: r.phase, value: r.value ?? null, ...(r.detail ? { detail: r.detail } : {}) },
      };
    }
    case "drift": {
      const r = await runDrift(c.drift, ctx.scope, { service: ctx.service, store: ctx.store });
      return {
        ok: r.phase === "successful",
        message: ctx.redact(r.message),
        data: { phase: r.phase, ...(r.detail ? { detail: r.detail } : {}) },
      };
    }
    case "migrations":
      return guarded(ctx, () => migrationsPreflight(ctx.migrationTarget(c.migrations)));
    case "backup-age":
      return backupAge(step, c.backup, ctx);
    case "command": {
      const result = await ctx.command(step.id, c.run, c.timeout?.ms ?? DEFAULT_COMMAND_MS);
      return commandResult(result);
    }
  }
}

/** The version was released to another environment (promotion), for at least `min` (soak). */
async function released(c: Extract<CheckSpec, { type: "released" }>, ctx: StepContext): Promise<StepResult> {
  const releases = await ctx.store.releasesOf(c.in, ctx.version);
  const first = releases[0];
  if (!first) return { ok: false, message: `${ctx.version} was never released to ${c.in}` };
  if (!c.min) return { ok: true, message: `released to ${c.in} in run ${first.runId}` };
  const ran = Date.now() - Date.parse(first.at);
  return ran >= c.min.ms
    ? { ok: true, message: `in ${c.in} since ${first.at} (${formatMs(ran)})` }
    : {
        ok: false,
        message: `${ctx.version} has run in ${c.in} for ${formatMs(ran)} of the ${c.min.text} required`,
      };
}

/** The latest backup (as `backup.latest` prints it) is younger than `backup.maxAge`. */
async function backupAge(
  step: CheckStep,
  b: Extract<CheckSpec, { type: "backup-age" }>["backup"],
  ctx: StepContext,
): Promise<StepResult> {
  if (!b.latest)
    return {
      ok: false,
      message: "backup.maxAge needs backup.latest, a command printing the latest backup's time",
    };
  return guarded(ctx, async () => {
    const result = await ctx.command(step.id, b.latest!, 120_000);
    if (result.exitCode !== 0 || result.timedOut)
      return { ok: false, message: `backup.latest: ${describeEnd(result)}${lastLines(result.output)}` };
    const printed = lastLine(result.stdout) ?? "";
    const at = Date.parse(printed);
    if (!printed || Number.isNaN(at))
      return {
        ok: false,
        message: `backup.latest printed ${JSON.stringify(printed.slice(0, 60))}, not a time such as 2026-01-31T09:30:00Z`,
      };
    const age = Date.now() - at;
    const ok = age <= b.maxAge!.ms;
    return {
      ok,
      message: `latest backup ${printed} is ${formatMs(Math.max(0, age))} old${ok ? "" : `, older than ${b.maxAge!.text}`}`,
      data: { latest: printed, ageMs: age },
    };
  });
}
