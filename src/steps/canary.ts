/**
 * One canary step: traffic shifted to the step's weight through the provider, then watched.
 * The deploy started the canary at the first step's weight, so the first step only watches;
 * a step at 100% promotes. While the step holds, the monitoring rules sample as after any
 * deploy (T is the canary's start) and a breach rolls back, which sends all traffic back to
 * the stable version. At the end of the hold, the step's named checks are measured against
 * the canary alone and, as a baseline, the stable version alone, where the provider can reach
 * each (local-process); elsewhere against the service as it serves. A failed check rolls back.
 */
import type { StepModule, StepResult } from "./contract.js";

const percent = (weight: number) => `${Math.round(weight * 1000) / 10}%`;

export const canary: StepModule<"canary"> = {
  kind: "canary",
  mode: "procedure",
  async run(step, ctx) {
    const d = ctx.durable;
    const provider = ctx.provider(step.id);
    const shift = provider.canary;
    if (!shift) return { ok: false, message: `provider ${provider.name} cannot shift traffic` };
    if (step.index > 1) {
      const moved = await d.act(`${step.id}:shift`, async (): Promise<StepResult> => {
        const r = await shift.shift({
          version: ctx.version,
          weight: step.weight,
          key: `${ctx.runId}:canary:${step.index}`,
          timeoutMs: step.timeout.ms,
        });
        return { ok: r.ok, message: r.message, data: { weight: r.weight, replayed: r.replayed ?? false } };
      });
      if (!moved.ok) {
        const reason = `canary shift to ${percent(step.weight)} failed: ${moved.message}`;
        return { ok: false, message: reason, next: { to: "rollback", cause: { reason } } };
      }
    }
    let summary = `${percent(step.weight)} of traffic on ${ctx.version}`;
    if (step.hold) {
      const watched = await d.monitorUntil((await d.now()) + step.hold.ms);
      summary += `, held ${step.hold.text}: ${watched.summary}`;
    }
    if (step.checks.length === 0) return { ok: true, message: summary };

    const targets = await d.act(`${step.id}:targets`, async () => ({
      ok: true,
      message: "where the canary and the stable version answer alone",
      data: { ...((await shift.targets?.()) ?? {}) },
    }));
    const canaryAt = targets.data?.canary as string | undefined;
    const stableAt = targets.data?.stable as string | undefined;
    const failures: string[] = [];
    for (const c of step.checks) {
      const on = await d.act(`${step.id}:check:${c.name}`, () =>
        ctx.measure(step.id, c, canaryAt ? { origin: canaryAt } : {}),
      );
      if (on.ok) continue;
      let baseline = "";
      if (stableAt && step.weight < 1) {
        const off = await d.act(`${step.id}:baseline:${c.name}`, () =>
          ctx.measure(step.id, c, { origin: stableAt }),
        );
        baseline = off.ok
          ? " (the stable version passes)"
          : ` (the stable version fails too: ${off.message})`;
      }
      failures.push(`${c.name}: ${on.message}${baseline}`);
    }
    if (failures.length === 0) return { ok: true, message: `${summary}; checks passed` };
    const message = `canary at ${percent(step.weight)}: ${failures.join("; ")}`;
    return { ok: false, message, next: { to: "rollback", cause: { reason: message } } };
  },
};
