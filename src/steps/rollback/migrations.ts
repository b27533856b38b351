/**
 * Rollback: undo this release's migrations, by its down scripts (latest first) or by restoring
 * the backup. It first states what would be lost; when data would be, the runbook's approver
 * must confirm before anything runs.
 */
import { describeEnd } from "../../exec/command.js";
import { lossStatement, restoredVersion, revertRun } from "../../migrations/run.js";
import { ask } from "../approval.js";
import { guarded, LONG_COMMAND_MS, lastLines } from "../common.js";
import type { StepModule } from "../contract.js";

export const migrations: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "procedure",
  async run(step, ctx) {
    if (step.form !== "migrations") throw new Error(`${step.id} is not a migrations rollback`);
    const m = step.migrations;
    if (!m) return { ok: true, message: "the runbook has no migrations" };
    const d = ctx.durable;
    const strategy = step.strategy;
    const loss = await d.act(`${step.id}:loss`, () =>
      guarded(ctx, async () => {
        const r = await lossStatement(
          ctx.migrationTarget(m),
          ctx.runId,
          strategy,
          ctx.facts.backup,
          Date.now(),
        );
        return { ok: true, message: r.statement, data: r };
      }),
    );
    if (!loss.ok) return loss;
    const applied = (loss.data?.applied as string[] | undefined) ?? [];
    await d.event({
      key: `${step.id}:loss`,
      kind: "migrations.loss",
      step: step.id,
      data: { strategy, applied, statement: loss.message, losesData: loss.data?.losesData ?? false },
    });
    if (applied.length > 0 && m.rollback.approval && loss.data?.losesData) {
      const id = `${step.id}:approval`;
      const what = `${strategy === "down" ? "run the down scripts" : "restore the backup"} (role ${m.rollback.approval}): ${loss.message}`;
      await d.started(id, "approval", what);
      const answer = await ask(
        id,
        {
          what,
          needed: 1,
          onTimeout: "abort",
          form: "confirm",
          approvers: [{ role: m.rollback.approval, count: 1 }],
          allowSelfApproval: true,
          inputs: [],
        },
        ctx,
      );
      await d.finished(id, answer.ok ? "passed" : "failed", answer.message);
      if (!answer.ok) return answer;
    }
    if (applied.length === 0) return { ok: true, message: loss.message };
    return d.act(`${step.id}:apply`, () =>
      guarded(ctx, async () => {
        const target = ctx.migrationTarget(m);
        if (strategy === "down") return revertRun(target, ctx.runId, (line) => ctx.output(step.id, line));
        const result = await ctx.command(step.id, m.rollback.restore!, LONG_COMMAND_MS);
        if (result.exitCode !== 0 || result.timedOut)
          return { ok: false, message: `restore: ${describeEnd(result)}${lastLines(result.output)}` };
        const { version, mismatch } = await restoredVersion(target);
        return {
          ok: mismatch === undefined,
          message: `restored ${ctx.facts.backup?.id ?? "the backup"}; ${mismatch ?? `schema version ${version ?? "(none)"}`}`,
          data: { schemaVersion: version },
        };
      }),
    );
  },
};
