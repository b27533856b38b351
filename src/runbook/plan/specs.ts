/** The parts of a plan's steps that carry a spec of their own: measured checks, confirmations, the rollback procedure. */
import { subjectsOf } from "../condition.js";
import type { Duration } from "../schema/common.js";
import { PostgresProbe, type Probe } from "../schema/probes.js";
import type { IntegritySpec, Runbook } from "../schema/runbook.js";
import { describeRollbackStep } from "./describe.js";
import type { ApprovalStep, Measured, ReleasePlan, RollbackChoice, RollbackStep } from "./types.js";

/** A named check as a step measures it: its probe, and its value from before the deploy when it has `baseline:`. */
export function named(runbook: Runbook, name: string): Measured {
  const probe = runbook.checks[name]!;
  return {
    probe,
    ...(probe.type === "postgres" && probe.baseline !== undefined ? { baseline: `checks.${name}` } : {}),
  };
}

/** A statement one person of role `by` confirms. */
export function confirmation(
  what: string,
  by: string | undefined,
  timeout: Duration | undefined,
): Omit<ApprovalStep, "id" | "detail"> {
  return {
    kind: "approval",
    form: "confirm",
    title: what,
    what: `confirmation "${what}"`,
    approvers: by ? [{ role: by, count: 1 }] : [],
    needed: 1,
    ...(timeout ? { timeout } : {}),
    onTimeout: "abort",
    // A confirmation is a statement: the person releasing may well be the one who confirms it.
    allowSelfApproval: true,
    inputs: [],
  };
}

/** The rollback procedure as the engine runs it: the runbook's steps, or a revert when it has none. */
export function rollbackPlan(runbook: Runbook): NonNullable<ReleasePlan["rollback"]> {
  const spec = runbook.rollback;
  const steps = spec?.steps ?? [{ revert: true }];
  const targets: Partial<Record<string, number>> = {};
  for (const [severity, d] of Object.entries(spec?.targets ?? {})) if (d) targets[severity] = d.ms;
  return {
    target: spec?.target.text ?? "none",
    ...(spec ? { targetMs: spec.target.ms } : {}),
    targets,
    steps: steps.map((s, i) => rollbackStep(runbook, s, i)),
  };
}

type RollbackSpec = NonNullable<Runbook["rollback"]>["steps"][number];

function rollbackStep(runbook: Runbook, s: RollbackSpec, i: number, prefix?: string): RollbackStep {
  const described = describeRollbackStep(s, i);
  if (prefix) described.id = `${prefix}:${s.name ?? i + 1}`;
  const base = { ...described, kind: "rollback" as const, ...(s.within ? { within: s.within } : {}) };
  if (s.choose) return { ...base, form: "choose", choice: rollbackChoice(runbook, s.choose, base.id) };
  if (s.revert)
    return { ...base, form: "revert", ...(runbook.deploy ? { timeout: runbook.deploy.timeout } : {}) };
  if (s.migrations) {
    return {
      ...base,
      form: "migrations",
      strategy: s.migrations,
      ...(runbook.migrations ? { migrations: runbook.migrations } : {}),
      ...(runbook.backup ? { backup: runbook.backup } : {}),
    };
  }
  if (s.run !== undefined)
    return { ...base, form: "run", run: s.run, ...(s.timeout ? { timeout: s.timeout } : {}) };
  if (s.check !== undefined) return { ...base, form: "check", check: s.check, ...named(runbook, s.check) };
  if (s.notify !== undefined)
    return { ...base, form: "notify", template: s.notify, ...(s.to ? { to: s.to } : {}) };
  if (s.confirm !== undefined) {
    const { kind: _k, title: _t, ...approval } = confirmation(s.confirm, s.by, s.timeout);
    return { ...base, form: "confirm", approval };
  }
  return { ...base, form: "wait", wait: s.wait! };
}

/** A choice's options, each with its steps (ids under the choice's: rollback:database:restore:1), and the signals its conditions read. */
function rollbackChoice(
  runbook: Runbook,
  c: NonNullable<RollbackSpec["choose"]>,
  id: string,
): RollbackChoice {
  const signals: Record<string, Probe> = {};
  for (const o of c.options)
    for (const n of o.when ? subjectsOf(o.when) : []) {
      const probe = runbook.monitor?.signals[n];
      if (probe) signals[n] = probe;
    }
  return {
    ...(c.by ? { by: { role: c.by, members: runbook.roles[c.by]?.members ?? [] } } : {}),
    ...(c.timeout ? { timeout: c.timeout } : {}),
    default: c.default,
    options: c.options.map((o) => ({
      name: o.name,
      ...(o.description ? { description: o.description } : {}),
      ...(o.when ? { when: o.when } : {}),
      steps: o.steps.map((step, k) => rollbackStep(runbook, step, k, `${id}:${o.name}`)),
    })),
    signals,
  };
}

/** Every ordinary step of a plan's rollback: the top-level ones and those of each choice's options. */
export function rollbackActionSteps(steps: RollbackStep[]): RollbackStep[] {
  return steps.flatMap((s) => (s.form === "choose" ? s.choice.options.flatMap((o) => o.steps) : [s]));
}

/** An integrity check is a postgres query probe: against its expectation, or its baseline within ±tolerance. */
export function integrityProbe(c: IntegritySpec): Probe {
  return PostgresProbe.parse({
    type: "postgres",
    name: c.name,
    measure: "query",
    query: c.query,
    timeout: "30s",
    ...(c.url ? { url: c.url } : {}),
    ...(c.expect ? { expect: c.expect.text } : {}),
    ...(c.tolerance !== undefined ? { baseline: { tolerance: c.tolerance } } : {}),
  });
}
