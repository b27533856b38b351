/** Rollback: restore the last known good version through the deploy provider. */
import { DEFAULT_COMMAND_MS } from "../common.js";
import type { StepModule } from "../contract.js";

export const revert: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "act",
  async run(step, ctx) {
    if (step.form !== "revert") throw new Error(`${step.id} is not a revert`);
    const target = ctx.facts.previousVersion;
    if (!target) return { ok: false, message: "no earlier version is known" };
    const result = await ctx.provider(step.id).rollback({
      version: target,
      key: `${ctx.runId}:rollback`,
      timeoutMs: step.timeout?.ms ?? DEFAULT_COMMAND_MS,
    });
    return { ok: result.ok, message: result.message };
  },
};
