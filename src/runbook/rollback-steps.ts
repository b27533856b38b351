/**
 * Every ordinary step of a runbook's rollback procedure with its YAML path: the top-level steps
 * and the steps of each option of a `choose:` step. Rules that check a rollback step (its
 * check, its role, its template) check them all through here.
 */
import type { Path } from "./diagnostics.js";
import type { Runbook } from "./schema/runbook.js";

type Rollback = NonNullable<Runbook["rollback"]>;
export type RollbackStepSpec = Rollback["steps"][number];
export type RollbackChoiceSpec = NonNullable<RollbackStepSpec["choose"]>;
export type RollbackActionSpec = RollbackChoiceSpec["options"][number]["steps"][number];

/** The ordinary steps (not the choices themselves), top level first in order, options' steps where they stand. */
export function* rollbackActions(
  rollback: Rollback | undefined,
): Generator<{ path: Path; step: RollbackActionSpec }> {
  for (const [i, step] of (rollback?.steps ?? []).entries()) {
    if (!step.choose) {
      yield { path: ["rollback", "steps", i], step };
      continue;
    }
    for (const [j, option] of step.choose.options.entries())
      for (const [k, s] of option.steps.entries())
        yield { path: ["rollback", "steps", i, "choose", "options", j, "steps", k], step: s };
  }
}

/** The `choose:` steps, each with its path. */
export function* rollbackChoices(
  rollback: Rollback | undefined,
): Generator<{ path: Path; step: RollbackStepSpec; choice: RollbackChoiceSpec }> {
  for (const [i, step] of (rollback?.steps ?? []).entries())
    if (step.choose) yield { path: ["rollback", "steps", i], step, choice: step.choose };
}
