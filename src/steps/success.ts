/** Success is declared at T+after when no rule of the named tiers fired; monitoring runs until then. */
import type { StepModule } from "./contract.js";

export const success: StepModule<"success"> = {
  kind: "success",
  mode: "procedure",
  async run(step, ctx) {
    const d = ctx.durable;
    const t = ctx.facts.deployedAt ?? (await d.now());
    await d.monitorUntil(t + step.after.ms);
    return { ok: true, message: `no ${step.without.join("/")} rule fired` };
  },
};
