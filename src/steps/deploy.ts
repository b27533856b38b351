/**
 * The deploy, through the runbook's provider, with the run's idempotency key: a replay after a
 * crash finds the key and does not deploy again. From its start, a failure rolls back, unless
 * the provider says nothing was started (then nothing was deployed). With canary steps, the
 * new version starts at the first step's share of traffic (src/steps/canary.ts moves it on).
 */
import type { StepModule } from "./contract.js";

export const deploy: StepModule<"deploy"> = {
  kind: "deploy",
  mode: "act",
  async run(step, ctx) {
    // With canary steps, the new version starts beside the serving one at the first step's share.
    const first = step.deploy.canary[0]?.weight;
    const result = await ctx.provider(step.id).deploy({
      version: ctx.version,
      key: `${ctx.runId}:deploy`,
      timeoutMs: step.deploy.timeout.ms,
      ...(first !== undefined && first < 1 ? { weight: first } : {}),
    });
    const started = result.started;
    return {
      ok: result.ok,
      message: result.replayed ? `${result.message} (already done; not deployed again)` : result.message,
      data: { replayed: result.replayed ?? false, started },
      facts: { deployed: started, ...(result.ok ? { deployedAt: Date.now() } : {}) },
    };
  },
  onFail: (_step, r) =>
    r.data?.started === false
      ? { to: "finish", outcome: "failed", reason: `deploy failed: ${r.message}; nothing was deployed` }
      : { to: "rollback", cause: { reason: `deploy failed: ${r.message}` } },
};
