/**
 * Step kinds and rollback forms, each mapped to its module. What `gantry release` can execute
 * is derived from here (and from the provider and probe registries): a kind or form without a
 * module is reported, never skipped.
 */
import type { PlanStep, RollbackForm, StepKind } from "../runbook/plan/types.js";
import { approval } from "./approval.js";
import { backup } from "./backup.js";
import { baseline } from "./baseline.js";
import { canary } from "./canary.js";
import { check } from "./check.js";
import { checkpoint } from "./checkpoint.js";
import type { StepModule } from "./contract.js";
import { deploy } from "./deploy.js";
import { gate } from "./gate.js";
import { integrity } from "./integrity.js";
import { migrate } from "./migrate.js";
import { check as rollbackCheck } from "./rollback/check.js";
import { choose } from "./rollback/choose.js";
import { confirm } from "./rollback/confirm.js";
import { migrations } from "./rollback/migrations.js";
import { notify } from "./rollback/notify.js";
import { revert } from "./rollback/revert.js";
import { run } from "./rollback/run.js";
import { wait } from "./rollback/wait.js";
import { schedule } from "./schedule.js";
import { smoke } from "./smoke.js";
import { success } from "./success.js";
import { window } from "./window.js";

export const STEP_MODULES: { readonly [K in Exclude<StepKind, "rollback">]?: StepModule<K> } = {
  schedule,
  window,
  gate,
  check,
  approval,
  backup,
  baseline,
  migrate,
  deploy,
  canary,
  smoke,
  integrity,
  checkpoint,
  success,
};

export const ROLLBACK_MODULES: { readonly [F in RollbackForm["form"]]?: StepModule<"rollback"> } = {
  revert,
  run,
  check: rollbackCheck,
  wait,
  confirm,
  migrations,
  notify,
  choose,
};

/** The module that executes `step`, or undefined when this version has none. */
export function moduleFor(step: PlanStep): StepModule | undefined {
  const found =
    step.kind === "rollback"
      ? ROLLBACK_MODULES[step.form]
      : (STEP_MODULES as Record<string, StepModule | undefined>)[step.kind];
  return found as StepModule | undefined;
}
