/** A gate: a command that must succeed before anything else runs. Cached per commit when asked. */
import { createHash } from "node:crypto";
import { describeEnd } from "../exec/command.js";
import { lastLines, succeeded } from "./common.js";
import type { StepModule } from "./contract.js";

export const gate: StepModule<"gate"> = {
  kind: "gate",
  mode: "act",
  async run(step, ctx) {
    const g = step.gate;
    const command = ctx.fillCommand(g.run, step.id);
    // The cache keys on a digest of the filled-in command: it may hold a secret, never stored.
    const cacheKey = `sha256:${createHash("sha256").update(command).digest("hex")}`;
    const sha = ctx.facts.sha;
    if (g.cache && sha && !ctx.noCache) {
      const cached = await ctx.store.cachedGate(sha, cacheKey);
      if (cached) {
        return {
          ok: true,
          message: `passed for commit ${sha.slice(0, 12)} in run ${cached.runId}; not run again (--no-cache to force)`,
          data: { cached: true },
        };
      }
    }
    // Its environment variables are templates too (`SNYK_TOKEN: "{{ secrets.snyk_token }}"`),
    // filled as text: they reach the process as values, never through a shell.
    const env = Object.fromEntries(
      Object.entries(g.env).map(([name, value]) => [name, ctx.render(value, `${step.id}.env.${name}`)]),
    );
    const result = await ctx.command(step.id, g.run, g.timeout.ms, { env });
    const ok = succeeded(result);
    if (ok && g.cache && sha) await ctx.store.cacheGate(sha, cacheKey, ctx.runId);
    return {
      ok,
      message: `${describeEnd(result, g.timeout.text)}${ok ? "" : lastLines(result.output)}`,
      data: { exitCode: result.exitCode ?? null, durationMs: result.durationMs, timedOut: result.timedOut },
    };
  },
  onFail: (step, r) => ({
    to: "finish",
    outcome: "gate_failed",
    reason: `gate ${step.title} failed: ${r.message}`,
  }),
};
