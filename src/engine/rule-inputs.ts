/** What a monitoring rule is judged with besides its samples: baselines, and the part of the timeline it covers. */
import type { Value } from "../probes/types.js";
import type { MonitorSpec } from "../runbook/plan/types.js";
import type { RunFacts } from "../steps/contract.js";

type RuleSpec = MonitorSpec["rules"][number];

/** Each signal's value measured before the deploy (baseline steps keep them as `signals.<name>`). */
export function signalBaselines(facts: RunFacts): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [key, value] of Object.entries(facts.baselines))
    if (key.startsWith("signals.")) out[key.slice("signals.".length)] = value as Value;
  return out;
}

/** Whether a rule is judged `offsetMs` after the deploy: always, or inside its `during:` part. */
export function judgedAt(rule: RuleSpec, offsetMs: number): boolean {
  if (!rule.during) return true;
  const { from, to } = rule.during;
  return offsetMs >= from.ms && (to === undefined || offsetMs < to.ms);
}

/** What views draw as a rule's threshold: its first clause's operand; a baseline's multiple once measured, else null. */
export function ruleThreshold(rule: RuleSpec, baselines: Record<string, Value>): number | string | null {
  const operand = rule.when.operand;
  if (operand.kind !== "baseline") return operand.value;
  const base = baselines[rule.when.subject];
  return typeof base === "number" ? operand.factor * base : null;
}
