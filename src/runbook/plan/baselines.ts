/** The backup phase: the backup itself, and every value measured before the deploy to compare after it. */
import { usesBaseline } from "../condition.js";
import { rollbackActions, rollbackChoices } from "../rollback-steps.js";
import type { Runbook } from "../schema/runbook.js";
import { oneLine } from "./describe.js";
import { integrityProbe } from "./specs.js";
import type { PlanStep } from "./types.js";

export function backupSteps(runbook: Runbook): PlanStep[] {
  const steps: PlanStep[] = [];
  if (runbook.backup?.run) {
    const required = runbook.backup.required ? "" : " (failure tolerated)";
    steps.push({
      id: "backup",
      kind: "backup",
      backup: runbook.backup,
      title: "take backup",
      detail: `${runbook.backup.run}${required}`,
    });
  }
  for (const name of baselineChecks(runbook)) {
    steps.push({
      id: `baseline:checks.${name}`,
      kind: "baseline",
      key: `checks.${name}`,
      probe: runbook.checks[name]!,
      title: `baseline of check ${name}`,
      detail: "measured now, compared after the deploy",
    });
  }
  for (const name of baselineSignals(runbook)) {
    steps.push({
      id: `baseline:signals.${name}`,
      kind: "baseline",
      key: `signals.${name}`,
      probe: runbook.monitor!.signals[name]!,
      title: `baseline of signal ${name}`,
      detail: "measured now; rules compare with it after the deploy",
    });
  }
  for (const c of runbook.integrity) {
    if (c.tolerance !== undefined) {
      steps.push({
        id: `baseline:${c.name}`,
        kind: "baseline",
        key: c.name,
        probe: integrityProbe(c),
        title: `baseline ${c.name}`,
        detail: oneLine(c.query),
      });
    }
  }
  return steps;
}

/** Signals a rule or a rollback choice compares with their value before the deploy (`> 3x baseline`, `within 10% of baseline`). */
export function baselineSignals(runbook: Runbook): string[] {
  const names = new Set<string>();
  const choices = [...rollbackChoices(runbook.rollback)].flatMap(({ choice }) => choice.options);
  for (const { when } of [...(runbook.monitor?.rules ?? []), ...choices])
    for (const clause of when?.clauses ?? []) if (usesBaseline(clause)) names.add(clause.subject);
  return [...names].filter((n) => runbook.monitor?.signals[n] !== undefined);
}

/** Named postgres checks with `baseline:` used after the deploy: their value before it is measured first. */
export function baselineChecks(runbook: Runbook): string[] {
  const names = new Set<string>();
  for (const s of runbook.smoke) if ("check" in s) names.add(s.check);
  for (const c of runbook.monitor?.checkpoints ?? []) for (const n of c.checks) names.add(n);
  for (const { step } of rollbackActions(runbook.rollback)) if (step.check) names.add(step.check);
  return [...names].filter((n) => {
    const probe = runbook.checks[n];
    return probe?.type === "postgres" && probe.baseline !== undefined;
  });
}
