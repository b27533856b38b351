/** A smoke test after the deploy: a probe (or named check) that must pass, or the release rolls back. */
import type { StepModule } from "./contract.js";

export const smoke: StepModule<"smoke"> = {
  kind: "smoke",
  mode: "act",
  run: (step, ctx) => ctx.measure(step.id, step),
  onFail: (step, r) => ({
    to: "rollback",
    cause: { reason: `smoke ${step.title} failed: ${r.message}` },
  }),
};
