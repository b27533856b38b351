/**
 * A monitoring checkpoint at T+x: monitoring runs until then, the checkpoint passes only when
 * no enforced rule is in breach (and, after a gap, once fresh samples were seen), then its
 * named checks run. A failed check rolls back.
 */
import type { StepModule } from "./contract.js";

export const checkpoint: StepModule<"checkpoint"> = {
  kind: "checkpoint",
  mode: "procedure",
  async run(step, ctx) {
    const d = ctx.durable;
    const t = ctx.facts.deployedAt ?? (await d.now());
    const { summary } = await d.monitorUntil(t + step.at.ms);
    const failures: string[] = [];
    for (const c of step.checks) {
      const r = await d.act(`${step.id}:check:${c.name}`, () => ctx.measure(step.id, c));
      if (!r.ok) failures.push(`${c.name}: ${r.message}`);
    }
    if (failures.length === 0) return { ok: true, message: summary };
    const message = failures.join("; ");
    return {
      ok: false,
      message,
      next: { to: "rollback", cause: { reason: `checkpoint ${step.at.text} failed: ${message}` } },
    };
  },
};
