/**
 * An item of the release schedule (T-7d … T+7d): it waits, durably, until its time (before the
 * deploy, from the planned deploy time; after it, from the deploy), tells people it is due
 * (`schedule.due`), runs its checks and its command, and waits for its owner role to sign it
 * off, reminding every `remind`. Before the deploy a failed item ends the run, nothing
 * deployed; after it, the item is recorded failed and the run goes on.
 */
import { formatMs } from "../exec/command.js";
import type { ScheduleStep } from "../runbook/plan/types.js";
import { ask } from "./approval.js";
import { commandResult, DEFAULT_COMMAND_MS } from "./common.js";
import type { Moment, StepContext, StepModule, StepResult } from "./contract.js";

export const schedule: StepModule<"schedule"> = {
  kind: "schedule",
  mode: "procedure",
  async run(step, ctx) {
    const d = ctx.durable;
    const before = step.offset.ms < 0;
    const t = before ? Date.parse(step.plannedT ?? "") : (ctx.facts.deployedAt ?? (await d.now()));
    const due = (Number.isNaN(t) ? await d.now() : t) + step.offset.ms;
    await d.event({
      key: `${step.id}:due`,
      kind: "schedule.due",
      step: step.id,
      data: { due: new Date(due).toISOString(), owner: step.owner?.role ?? null, tasks: step.tasks },
    });
    if ((await d.now()) < due) await d.waitUntil(due);
    const late = (await d.now()) - due;
    const moment = momentOf(step, due);
    await d.notify("schedule.due", step.id, moment);

    const problems: string[] = [];
    const done: string[] = [];
    for (const c of step.checks) {
      const r = await d.act(`${step.id}:check:${c.name}`, () => ctx.measure(`${step.id}:check:${c.name}`, c));
      (r.ok ? done : problems).push(`check ${c.name}: ${r.message}`);
    }
    if (step.run) {
      const command = step.run;
      const r = await d.act(`${step.id}:run`, async () =>
        commandResult(await ctx.command(`${step.id}:run`, command, DEFAULT_COMMAND_MS)),
      );
      (r.ok ? done : problems).push(`$ ${command}: ${r.message}`);
    }
    if (problems.length > 0) return failed(step, problems, ctx);
    const signed = step.signoff && step.owner ? await signOff(step, ctx, moment) : undefined;
    if (signed && !signed.ok) return signed;
    const lateNote = late > 60_000 ? ` (${formatMs(late)} late)` : "";
    const parts = [...done, signed ? signed.message : ""].filter(Boolean);
    return { ok: true, message: `done${lateNote}${parts.length ? `: ${parts.join("; ")}` : ""}` };
  },
};

function momentOf(step: ScheduleStep, due: number): Moment {
  return {
    reason: `${step.title} is due`,
    schedule: {
      name: step.title,
      at: step.offset.text,
      due: new Date(due).toISOString(),
      owner: step.owner?.role ?? "",
      tasks: step.tasks,
    },
  };
}

/** Waits for a member of the owner role, reminding every `remind` until one signs off. */
async function signOff(step: ScheduleStep, ctx: StepContext, moment: Moment): Promise<StepResult> {
  const owner = step.owner!;
  for (let round = 0; ; round++) {
    const answer = await ask(
      step.id,
      {
        what: `sign-off of ${step.title} (${owner.role})`,
        form: "schedule",
        needed: 1,
        approvers: [{ role: owner.role, count: 1 }],
        allowSelfApproval: true,
        inputs: [],
        onTimeout: "proceed",
        ...(step.remind ? { timeout: step.remind } : {}),
      },
      ctx,
      round,
    );
    if (!answer.ok) return answer;
    const given = (answer.data?.approvals ?? []) as Array<{ by: string }>;
    if (given.length > 0) return { ok: true, message: `signed off by ${given.map((g) => g.by).join(", ")}` };
    await ctx.durable.notify("schedule.due", `${step.id}:remind:${round + 1}`, {
      ...moment,
      reason: `reminder: ${step.title} waits for ${owner.role} to sign it off`,
    });
  }
}

function failed(step: ScheduleStep, problems: string[], ctx: StepContext): StepResult {
  const message = problems.join("; ");
  if (step.offset.ms < 0)
    return {
      ok: false,
      message,
      next: {
        to: "finish",
        outcome: "failed",
        reason: `schedule ${step.title}: ${message}${ctx.deployedNote()}`,
      },
    };
  // After the deploy, the item fails on its own: monitoring decides whether the release stays.
  return { ok: false, message, next: { to: "continue" } };
}
