/** Rollback: verify with a named check. */
import type { StepModule } from "../contract.js";

export const check: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "act",
  async run(step, ctx) {
    if (step.form !== "check") throw new Error(`${step.id} is not a check`);
    return ctx.measure(step.id, step);
  },
};
