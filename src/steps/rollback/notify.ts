/** Rollback: tells people, with a template, on the step's channels (default: those subscribed to `rollback.started`). */
import type { StepModule } from "../contract.js";

export const notify: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "procedure",
  async run(step, ctx) {
    if (step.form !== "notify") throw new Error(`${step.id} is not a notification`);
    await ctx.durable.notify(
      "rollback.started",
      step.id,
      {},
      {
        template: step.template,
        ...(step.to ? { to: step.to } : {}),
      },
    );
    return {
      ok: true,
      message: `${step.template} sent to ${step.to?.join(", ") ?? "the rollback's channels"}`,
    };
  },
};
