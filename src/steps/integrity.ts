/** A data integrity check after the deploy: a query against its expectation or its value from before. */
import type { StepModule } from "./contract.js";

export const integrity: StepModule<"integrity"> = {
  kind: "integrity",
  mode: "act",
  async run(step, ctx) {
    if (step.baseline !== undefined && !(step.baseline in ctx.facts.baselines))
      return { ok: false, message: "no value from before the deploy to compare with" };
    return ctx.measure(step.id, step);
  },
  onFail: (step, r) => ({
    to: "rollback",
    cause: { reason: `integrity ${step.title} failed: ${r.message}` },
  }),
};
