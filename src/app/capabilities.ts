/**
 * What this version of Gantry can execute, derived from the registries: a step kind or
 * rollback form needs a module (src/steps/registry.ts), a probe type an implementation
 * (src/probes/index.ts), a deploy provider a module (src/providers/index.ts), a notification
 * channel a module (src/channels/registry.ts). `gantry release`
 * refuses a plan that uses anything else, naming each part, rather than run a release while
 * silently skipping a part the runbook relies on; `gantry plan` lists the same parts.
 */
import { CHANNEL_TYPES } from "../channels/registry.js";
import { SUPPORTED_PROBE_TYPES } from "../probes/index.js";
import { canaryProblem, SUPPORTED_PROVIDERS } from "../providers/index.js";
import type { Measured, PlanStep, ReleasePlan } from "../runbook/plan/types.js";
import type { Probe } from "../runbook/schema/probes.js";
import { moduleFor } from "../steps/registry.js";

const PROBES: ReadonlySet<string> = new Set(SUPPORTED_PROBE_TYPES);
const PROVIDERS: ReadonlySet<string> = new Set(SUPPORTED_PROVIDERS);
const CHANNELS: ReadonlySet<string> = new Set(CHANNEL_TYPES);

/**
 * The parts of `plan` this version cannot execute, each as `<where> (<why>)`, e.g.
 * `deploy (provider vercel: use provider command, see docs/providers.md)`.
 */
export function notExecutable(
  plan: ReleasePlan,
  sections: { schedule: number; channels?: Record<string, { type: string }> },
): string[] {
  const out: string[] = [];
  for (const [name, c] of Object.entries(sections.channels ?? {}))
    if (!CHANNELS.has(c.type)) out.push(`notify.channels.${name} (channel type ${c.type})`);
  const probe = (where: string, p: Probe) => {
    if (!PROBES.has(p.type)) out.push(`${where} (probe type ${p.type})`);
  };
  // A named check gets its before-the-deploy value measured (plan's baseline steps); an inline one does not.
  const measured = (where: string, m: Measured) => {
    probe(where, m.probe);
    if (m.probe.type === "postgres" && m.probe.baseline && m.baseline === undefined)
      out.push(`${where} (postgres baseline: make it a named check, or an integrity check)`);
  };
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      if (!moduleFor(step)) out.push(step.kind === "canary" ? "deploy.canary" : `${phase.name}.${step.kind}`);
      for (const [where, m] of measures(step)) measured(where, m);
    }
  }
  for (const [name, p] of Object.entries(plan.monitor?.spec.signals ?? {}))
    measured(`monitor.signals.${name}`, { probe: p });
  plan.rollback?.steps.forEach((step, i) => {
    if (!moduleFor(step)) out.push(`rollback.steps.${i} (${step.form})`);
    if (step.form !== "choose") return;
    step.choice.options.forEach((o, j) =>
      o.steps.forEach((s, k) => {
        if (!moduleFor(s)) out.push(`rollback.steps.${i}.choose.options.${j}.steps.${k} (${s.form})`);
      }),
    );
    for (const [name, p] of Object.entries(step.choice.signals))
      measured(`monitor.signals.${name}`, { probe: p });
  });
  if (plan.deploy && !PROVIDERS.has(plan.deploy.provider))
    out.push(`deploy (provider ${plan.deploy.provider}: use provider command, see docs/providers.md)`);
  const canary = plan.deploy ? canaryProblem(plan.deploy) : undefined;
  if (canary) out.push(`deploy.canary (provider ${plan.deploy!.provider} cannot shift traffic: ${canary})`);
  return [...new Set(out)];
}

/** The probes a step measures, each with where it is. */
function measures(step: PlanStep): Array<[string, Measured]> {
  switch (step.kind) {
    case "check":
      return step.check.type === "probe" ? [[step.id, step.check]] : [];
    case "smoke":
    case "integrity":
      return [[step.id, step]];
    case "baseline":
      return [[step.id, { probe: step.probe, baseline: step.key }]];
    case "checkpoint":
      return step.checks.map((c) => [`${step.id} ${c.name}`, c]);
    default:
      return [];
  }
}
