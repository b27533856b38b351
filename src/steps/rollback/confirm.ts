/** Rollback: a person confirms a statement; a refusal fails this step, and the procedure goes on. */
import { ask } from "../approval.js";
import type { StepModule } from "../contract.js";

export const confirm: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "procedure",
  async run(step, ctx) {
    if (step.form !== "confirm") throw new Error(`${step.id} is not a confirmation`);
    return ask(step.id, step.approval, ctx);
  },
};
