/** Rollback: wait a while (for caches to drain, traffic to settle). Control messages wait too. */
import type { StepModule } from "../contract.js";

export const wait: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "procedure",
  async run(step, ctx) {
    if (step.form !== "wait") throw new Error(`${step.id} is not a wait`);
    const d = ctx.durable;
    await d.waitUntil((await d.now()) + step.wait.ms, { quiet: true });
    return { ok: true, message: `waited ${step.wait.text}` };
  },
};
