/** The parts of a plan's steps that carry a spec of their own: measured checks, confirmations, the rollback procedure. */
import type { Duration } from "../schema/common.js";
import { PostgresProbe, type Probe } from "../schema/probes.js";
import type { IntegritySpec, Runbook } from "../schema/runbook.js";
import { describeRollbackStep } from "./describe.js";
import type { ApprovalStep, Measured, ReleasePlan, RollbackStep } from "./types.js";

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

function rollbackStep(runbook: Runbook, s: RollbackSpec, i: number): RollbackStep {
  const described = describeRollbackStep(s, i);
  const base = { ...described, kind: "rollback" as const, ...(s.within ? { within: s.within } : {}) };
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
