/**
 * Migrations: the expand phase before the deploy, the contract phase after the checkpoint it
 * names. Through Gantry's SQL runner or the team's tool (`runner: command`), one file at a time.
 */
import { applyPhase, LEDGER } from "../migrations/run.js";
import { commandResult, guarded, LONG_COMMAND_MS } from "./common.js";
import type { StepModule } from "./contract.js";

export const migrate: StepModule<"migrate"> = {
  kind: "migrate",
  mode: "act",
  async run(step, ctx) {
    const m = step.migrations;
    const r = await guarded(ctx, async () => {
      // A template is the version after the expand phase; `ledger` holds after either phase.
      const written = m.schemaVersion?.expect;
      const expect = written === LEDGER ? LEDGER : step.phase === "expand" && written;
      return applyPhase(ctx.migrationTarget(m), step.phase, {
        runId: ctx.runId,
        onLine: (line) => ctx.output(step.id, line),
        ...(expect ? { expectVersion: ctx.render(expect, "migrations.schemaVersion.expect") } : {}),
        ...(m.runner === "command"
          ? {
              command: async (f) => {
                const values = { migration: { file: f.file, name: f.name } };
                return commandResult(
                  await ctx.command(step.id, m.command!.apply, LONG_COMMAND_MS, { values }),
                );
              },
            }
          : {}),
      });
    });
    const applied = (r.data?.applied as string[] | undefined) ?? [];
    return {
      ...r,
      facts: step.phase === "expand" ? { expandApplied: applied } : { contractDone: true },
    };
  },
  onFail: (step, r, ctx) =>
    step.phase === "expand"
      ? { to: "finish", outcome: "failed", reason: `${r.message}${ctx.deployedNote()}` }
      : {
          to: "finish",
          outcome: "failed",
          reason: `${r.message}; ${ctx.version} stays deployed and its expand schema stays in place; fix the migration and release again`,
        },
};
