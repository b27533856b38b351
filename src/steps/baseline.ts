/** A value measured before the deploy, compared after it (an integrity check, a named check with `baseline:`). */
import type { Value } from "../probes/types.js";
import type { StepModule } from "./contract.js";

export const baseline: StepModule<"baseline"> = {
  kind: "baseline",
  mode: "act",
  async run(step, ctx) {
    const r = await ctx.measure(step.id, { probe: step.probe });
    if (!r.ok) return r;
    const value = (r.data?.value ?? null) as Value;
    return { ...r, facts: { ...r.facts, baselines: { [step.key]: value } } };
  },
  onFail: (step, r) => ({
    to: "finish",
    outcome: "failed",
    reason: `${step.title}: ${r.message}; nothing was deployed`,
  }),
};
