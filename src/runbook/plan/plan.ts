/**
 * plan(): the pure function from a runbook to the exact sequence Gantry will execute.
 * No I/O, no clock: the caller passes the time. `gantry plan` prints it; the engine runs it.
 */
import { DateTime } from "luxon";
import { BEFORE_DEPLOY } from "../schema/common.js";
import type { Runbook } from "../schema/runbook.js";
import { closest } from "../suggest.js";
import { fillKnown } from "../template.js";
import { onTimeline } from "../time-scale.js";
import { backupSteps } from "./baselines.js";
import { canarySteps } from "./canary.js";
import { describeDeploy, describeProbe } from "./describe.js";
import { pagingPlan } from "./on-call.js";
import { type RefInfo, resolveRef } from "./ref.js";
import { confirmation, integrityProbe, named, rollbackPlan } from "./specs.js";
import { scheduleSteps, successStep, windowStep } from "./timed.js";
import type { ApprovalStep, CheckStep, PlanPhase, PlanStep, ReleasePlan, TimelineEntry } from "./types.js";
import { windowStatus } from "./window.js";

export interface PlanOptions {
  env: string;
  ref?: string;
  /** When the deploy (T) would happen, ISO 8601; also the time the deployment window is judged at. Times are shown in its offset. */
  at: string;
  /** Whether `at` was given by the user (then wall-clock times are shown). */
  atGiven?: boolean;
  file: string;
}

export type PlanResult = { ok: true; plan: ReleasePlan } | { ok: false; message: string };

export function plan(written: Runbook, options: PlanOptions): PlanResult {
  const runbook = onTimeline(written, options.env);
  const env = runbook.environments[options.env];
  if (!env) {
    const names = Object.keys(runbook.environments);
    const guess = closest(options.env, names);
    return {
      ok: false,
      message: `unknown environment \`${options.env}\`${guess ? `; did you mean \`${guess}\`?` : `; environments: ${names.join(", ")}`}`,
    };
  }
  const blockers: string[] = [];
  const ref = resolveRef(runbook, options.env, env, options.ref);
  if (!ref.ok) blockers.push(ref.problem);
  const info = ref.ok ? ref.info : undefined;
  const version = info?.version ?? "<version>";
  const at = DateTime.fromISO(options.at, { setZone: true });
  const here = (item: { only?: string[] | undefined }) => appliesTo(item, options.env);

  const phases: PlanPhase[] = [];
  const add = (name: string, steps: PlanStep[]) => {
    if (steps.length > 0) phases.push({ name, steps });
  };

  const environment = runbook.environments[options.env]!;
  // Before the deploy, schedule items are timed from the planned deploy: --at, else the next opening of a closed window.
  const opensAt = windowStatus(environment, at);
  const plannedT = options.atGiven || opensAt.open || !opensAt.nextOpen ? iso(at) : opensAt.nextOpen;
  add(
    "schedule",
    scheduleSteps(runbook, (ms) => ms < 0).map((s) => ({ ...s, plannedT })),
  );
  if (runbook.deploy) add("window", [windowStep(environment, "start")]);
  add("gates", gateSteps(runbook));
  add("preflight", preflightSteps(runbook, options.env, version));
  add("backup", backupSteps(runbook));
  if (runbook.migrations) {
    const m = runbook.migrations;
    const match = [m.expand.match].flat().join(", ");
    add("migrations", [
      {
        id: "migrate:expand",
        kind: "migrate",
        phase: "expand",
        migrations: m,
        title: "expand migrations",
        detail: `pending ${m.assign === "analysis" ? "backward-compatible files (by SQL analysis)" : `files matching ${match}`} in ${m.dir}, via the ${m.runner} runner`,
      },
    ]);
  }
  if (runbook.deploy) {
    const deploy = runbook.deploy;
    const steps: PlanStep[] = [
      windowStep(environment, "deploy"),
      { id: "deploy", kind: "deploy", deploy, title: `deploy ${version}`, detail: describeDeploy(deploy) },
    ];
    steps.push(...canarySteps(runbook));
    add("deploy", steps);
  }
  add(
    "smoke",
    runbook.smoke
      .filter((s) => !("check" in s) || here(s))
      .map((s, i) => {
        const name = s.name ?? ("check" in s ? s.check : `smoke-${i + 1}`);
        const detail = "check" in s ? `check ${s.check}` : describeProbe(s);
        const measured = "check" in s ? named(runbook, s.check) : { probe: s };
        return { id: `smoke:${name}`, kind: "smoke" as const, title: name, detail, ...measured };
      }),
  );
  add(
    "integrity",
    runbook.integrity.map((c) => ({
      id: `integrity:${c.name}`,
      kind: "integrity" as const,
      title: c.name,
      probe: integrityProbe(c),
      ...(c.tolerance !== undefined ? { baseline: c.name } : {}),
      detail:
        c.tolerance !== undefined
          ? `within ±${pct(c.tolerance)} of baseline`
          : `expect ${c.expect?.text ?? "a value"}`,
    })),
  );
  add("monitor", monitorSteps(runbook));
  placeAnchored(runbook, options.env, phases);
  // Items due while monitoring runs go among its checkpoints, in time order; later ones after it.
  const monitorPhase = phases.find((p) => p.name === "monitor");
  const followUp = scheduleSteps(runbook, (ms) => ms >= 0).filter((s) => {
    const index =
      monitorPhase?.steps.findIndex((m) => m.kind === "checkpoint" && m.at.ms > s.offset.ms) ?? -1;
    if (index < 0) return true;
    monitorPhase!.steps.splice(index, 0, s);
    return false;
  });
  if (runbook.success || followUp.length > 0) {
    const after: Array<{ ms: number; step: PlanStep }> = followUp.map((s) => ({ ms: s.offset.ms, step: s }));
    if (runbook.success) after.push({ ms: runbook.success.after.ms, step: successStep(runbook.success) });
    after.sort((a, b) => a.ms - b.ms);
    add(
      followUp.length > 0 ? "follow-up" : "success",
      after.map((a) => a.step),
    );
  }

  const rollback = runbook.deploy ? rollbackPlan(runbook) : undefined;
  const paging = pagingPlan(runbook);

  const result: ReleasePlan = {
    runbook: { name: runbook.metadata.name, service: runbook.metadata.service, file: options.file },
    environment: options.env,
    ...(info ? { ref: info } : {}),
    ...(options.ref !== undefined ? { requestedRef: options.ref } : {}),
    ...(options.atGiven ? { at: iso(at) } : {}),
    window: windowStatus(env, at),
    ...(env.timeScale !== undefined && env.timeScale !== 1 ? { timeScale: env.timeScale } : {}),
    phases,
    timeline: timeline(runbook, options.env, options.atGiven ? at : undefined),
    ...(runbook.monitor
      ? {
          monitor: {
            spec: runbook.monitor,
            endsAfterMs: Math.max(
              ...runbook.monitor.checkpoints.map((c) => c.at.ms),
              runbook.success?.after.ms ?? 0,
            ),
            interval: runbook.monitor.interval.text,
            signals: Object.entries(runbook.monitor.signals).map(([n, p]) => `${n}: ${describeProbe(p)}`),
            rules: runbook.monitor.rules.map((r) => {
              const action = runbook.monitor?.tiers[r.severity]?.action ?? "note";
              const watch = r.mode === "watch" ? " (watch only)" : "";
              const pages = r.component ? `; component ${r.component}` : "";
              return `${r.name}: ${r.when.text} for ${r.for.text} → ${r.severity} ${action}${watch}${pages}`;
            }),
          },
        }
      : {}),
    ...(rollback ? { rollback } : {}),
    ...(runbook.deploy ? { deploy: runbook.deploy } : {}),
    notifications: (runbook.notify?.on ?? []).map(
      (s) => `${s.event}${s.every ? ` every ${s.every.text}` : ""} → ${s.template} to ${s.to.join(", ")}`,
    ),
    roles: Object.fromEntries(Object.entries(runbook.roles).map(([name, r]) => [name, r.members])),
    slas: Object.fromEntries(
      Object.entries(runbook.slas ?? {}).map(([severity, s]) => [
        severity,
        {
          ackMs: s!.ack.ms,
          mitigateMs: s!.mitigate.ms,
          escalation: s!.escalation.map((role) => ({ role, members: runbook.roles[role]?.members ?? [] })),
        },
      ]),
    ),
    ...(paging ? { paging } : {}),
    ...(runbook.rollback?.approval ? { rollbackBy: runbook.rollback.approval.role } : {}),
    ...((runbook.rollback?.approval?.count ?? 1) > 1
      ? { rollbackCount: runbook.rollback!.approval!.count }
      : {}),
    ...(runbook.success
      ? { success: `T+${runbook.success.after.text} without ${runbook.success.without.join("/")}` }
      : {}),
    blockers,
  };
  return { ok: true, plan: fillPlan(result, knownValues(runbook, options, info)) };
}

/** The template values known before anything runs. Secrets are never among them. */
function knownValues(
  runbook: Runbook,
  options: PlanOptions,
  info: RefInfo | undefined,
): Record<string, unknown> {
  const env = runbook.environments[options.env]!;
  return {
    service: runbook.metadata.service,
    runbook: { name: runbook.metadata.name, file: options.file },
    env: { name: options.env, url: env.url, vars: env.vars },
    release: info
      ? {
          version: info.version,
          ref: info.ref,
          rc: info.rc,
          ...(info.kind === "tag" ? { tag: info.ref } : { sha: info.ref }),
        }
      : {},
  };
}

function fillPlan(plan: ReleasePlan, known: Record<string, unknown>): ReleasePlan {
  const fill = (text: string) => fillKnown(text, known);
  const step = <S extends PlanStep>(s: S): S => ({
    ...s,
    title: fill(s.title),
    ...(s.detail ? { detail: fill(s.detail) } : {}),
    // A rollback choice's options hold steps of their own.
    ...(s.kind === "rollback" && s.form === "choose"
      ? {
          choice: {
            ...s.choice,
            options: s.choice.options.map((o) => ({ ...o, steps: o.steps.map(step) })),
          },
        }
      : {}),
  });
  return {
    ...plan,
    phases: plan.phases.map((p) => ({ ...p, steps: p.steps.map(step) })),
    ...(plan.monitor ? { monitor: { ...plan.monitor, signals: plan.monitor.signals.map(fill) } } : {}),
    ...(plan.rollback ? { rollback: { ...plan.rollback, steps: plan.rollback.steps.map(step) } } : {}),
  };
}

/** A step with `only:` applies to the environments it names; without it, to every one. */
function appliesTo(item: { only?: string[] | undefined }, env: string): boolean {
  return item.only === undefined || item.only.includes(env);
}

function gateSteps(runbook: Runbook): PlanStep[] {
  let group = 0;
  let previousParallel = false;
  return runbook.gates.map((g) => {
    if (g.parallel && !previousParallel) group++;
    previousParallel = g.parallel;
    return {
      id: `gate:${g.name}`,
      kind: "gate",
      gate: g,
      title: g.name,
      detail: `${g.run} (timeout ${g.timeout.text}${g.cache ? ", cached per commit" : ""})`,
      ...(g.parallel ? { parallelGroup: group } : {}),
    };
  });
}

function preflightSteps(runbook: Runbook, envName: string, version: string): PlanStep[] {
  const env = runbook.environments[envName]!;
  const steps: PlanStep[] = [];
  if (env.promoteFrom) {
    steps.push({
      id: "promotion",
      kind: "check",
      check: { type: "released", in: env.promoteFrom },
      title: `${version} was released to ${env.promoteFrom}`,
    });
  }
  if (env.soak) {
    steps.push({
      id: "soak",
      kind: "check",
      check: { type: "released", in: env.soak.in, min: env.soak.min },
      title: `${version} has run in ${env.soak.in} for at least ${env.soak.min.text}`,
    });
  }
  for (const name of env.validate) {
    const probe = runbook.checks[name];
    const detail = probe ? describeProbe(probe) : undefined;
    steps.push({
      id: `validate:${name}`,
      kind: "check",
      check: { type: "probe", ...named(runbook, name) },
      title: `validate ${name}`,
      ...(detail ? { detail } : {}),
    });
  }
  if (runbook.parity?.in.includes(envName)) {
    const p = runbook.parity;
    steps.push({
      id: "parity",
      kind: "check",
      check: { type: "parity", parity: p },
      title: `parity with ${p.with}`,
      detail: `${p.compare.join(", ")}; go ≥ ${Math.round(p.go * 100)}%, no-go < ${Math.round(p.noGo * 100)}%`,
    });
  }
  if (runbook.drift?.in.includes(envName)) {
    const d = runbook.drift;
    const what = [
      d.secrets ? "secrets set" : "",
      d.keys.length ? `${d.keys.length} keys present` : "",
      d.config ? "config structure unchanged" : "",
    ].filter(Boolean);
    steps.push({
      id: "drift",
      kind: "check",
      check: { type: "drift", drift: d },
      title: "no drift",
      detail: what.join(", "),
    });
  }
  if (runbook.migrations) {
    steps.push({
      id: "migrations",
      kind: "check",
      check: { type: "migrations", migrations: runbook.migrations },
      title: "migrations lint clean, no applied file changed",
      detail: `${runbook.migrations.dir}, ledger ${runbook.migrations.table}`,
    });
  }
  if (runbook.backup?.maxAge) {
    steps.push({
      id: "backup-age",
      kind: "check",
      check: { type: "backup-age", backup: runbook.backup },
      title: `latest backup younger than ${runbook.backup.maxAge.text}`,
    });
  }
  runbook.preflight.forEach((item, i) => {
    if (!appliesTo(item, envName)) return;
    if (item.check !== undefined) {
      const probe = runbook.checks[item.check];
      const detail = probe ? describeProbe(probe) : undefined;
      steps.push({
        id: `preflight:${item.name ?? item.check}`,
        kind: "check",
        check: { type: "probe", ...named(runbook, item.check) },
        title: item.check,
        ...(detail ? { detail } : {}),
      });
    } else if (item.confirm !== undefined) {
      steps.push({
        id: `preflight:${item.name ?? `confirm-${i + 1}`}`,
        ...confirmation(item.confirm, item.by, item.timeout),
        detail: `confirmed by ${item.by}`,
      });
    } else if (item.run !== undefined) {
      steps.push({
        id: `preflight:${item.name ?? `run-${i + 1}`}`,
        kind: "check",
        check: {
          type: "command",
          run: item.run,
          ...(item.timeout ? { timeout: item.timeout } : {}),
        } satisfies CheckStep["check"],
        title: item.name ?? "run",
        detail: item.run,
      });
    }
  });
  return steps;
}

function monitorSteps(runbook: Runbook): PlanStep[] {
  const monitor = runbook.monitor;
  if (!monitor) return [];
  return monitor.checkpoints.map((c) => ({
    id: `checkpoint:${c.at.text}`,
    kind: "checkpoint" as const,
    at: c.at,
    checks: c.checks.map((name) => ({ name, ...named(runbook, name) })),
    title: `checkpoint ${c.at.text}${c.name ? ` ${c.name}` : ""}`,
    detail: c.checks.length ? `checks: ${c.checks.join(", ")}` : `signals every ${monitor.interval.text}`,
  }));
}

/** What a decision's answers mean, and what a rejection needs: the next window, the role to page. */
function decisionChoices(
  runbook: Runbook,
  env: string,
  d: Runbook["decisions"][number],
): Pick<ApprovalStep, "choices" | "postpone" | "page"> {
  const choices = d.choices ?? (BEFORE_DEPLOY.includes(d.after) ? "go-no-go" : "continue-rollback");
  const environment = runbook.environments[env]!;
  if (choices === "go-no-go")
    return {
      choices,
      postpone: { ms: d.postpone.ms, windows: environment.windows, freezes: environment.freezes },
    };
  if (choices === "complete-investigate") {
    const role = d.page ?? Object.entries(runbook.roles).find(([, r]) => r.onCall)?.[0];
    return { choices, ...(role ? { page: { role, members: runbook.roles[role]?.members ?? [] } } : {}) };
  }
  return { choices };
}

type Waiting = Pick<Runbook["decisions"][number], "timeout" | "onTimeout" | "remind" | "escalation">;

/** A request's reminders and the roles they page, with the members each role has. */
function waiting(runbook: Runbook, w: Waiting): Pick<ApprovalStep, "remind" | "escalation"> {
  return {
    ...(w.remind ? { remind: w.remind } : {}),
    ...(w.escalation.length > 0
      ? { escalation: w.escalation.map((role) => ({ role, members: runbook.roles[role]?.members ?? [] })) }
      : {}),
  };
}

function waitingDetail(w: Waiting): string {
  return [
    w.remind
      ? `; reminders every ${w.remind.text}${w.escalation.length ? `, paging ${w.escalation.join(" then ")}` : ""}`
      : "",
    w.timeout ? `; on no answer after ${w.timeout.text}: ${w.onTimeout}` : "",
  ].join("");
}

/** Decisions, checklists and contract migrations go after the phase or checkpoint they name. */
function placeAnchored(runbook: Runbook, env: string, phases: PlanPhase[]): void {
  const anchored: Array<{ after: string; step: PlanStep }> = [];
  const here = (item: { only?: string[] | undefined }) => appliesTo(item, env);
  for (const d of runbook.decisions.filter(here)) {
    const who = d.approvers.map((a) => `${a.count} ${a.role}`).join(" + ");
    anchored.push({
      after: d.after,
      step: {
        id: `decision:${d.name}`,
        kind: "approval",
        form: "decision",
        what: `decision ${d.name}`,
        approvers: d.approvers,
        needed: d.approvers.reduce((n, a) => n + a.count, 0),
        allowSelfApproval: d.allowSelfApproval,
        inputs: d.inputs.filter((n) => runbook.checks[n]).map((name) => ({ name, ...named(runbook, name) })),
        ...decisionChoices(runbook, env, d),
        ...(d.timeout ? { timeout: d.timeout } : {}),
        onTimeout: d.onTimeout,
        ...waiting(runbook, d),
        title: `decision ${d.name}`,
        detail: `approved by ${who}${waitingDetail(d)}`,
      },
    });
  }
  for (const c of runbook.checklists.filter(here)) {
    const who = c.signoff.map((a) => `${a.count} ${a.role}`).join(" + ");
    anchored.push({
      after: c.after,
      step: {
        id: `checklist:${c.name}`,
        kind: "approval",
        form: "checklist",
        what: `checklist ${c.name}`,
        approvers: c.signoff,
        needed: c.signoff.reduce((n, a) => n + a.count, 0),
        allowSelfApproval: c.allowSelfApproval,
        inputs: [],
        ...(c.timeout ? { timeout: c.timeout } : {}),
        onTimeout: c.onTimeout,
        ...waiting(runbook, c),
        items: c.items,
        title: `checklist ${c.name}`,
        detail: `${c.items.length} items, signed off by ${who}${waitingDetail(c)}`,
      },
    });
  }
  const contract = runbook.migrations?.contract;
  if (contract) {
    anchored.push({
      after: contract.after,
      step: {
        id: "migrate:contract",
        kind: "migrate",
        phase: "contract",
        migrations: runbook.migrations!,
        title: "contract migrations",
        detail: `${contract.match === undefined ? "destructive migrations (by analysis)" : [contract.match].flat().join(", ")} — held back unless monitoring up to ${contract.after} is healthy`,
      },
    });
  }
  for (const { after, step } of anchored) {
    if (after.startsWith("T+")) {
      const monitor = phases.find((p) => p.name === "monitor");
      const index = monitor?.steps.findIndex((s) => s.id === `checkpoint:${after}`) ?? -1;
      if (monitor && index >= 0) {
        let at = index + 1;
        while (at < monitor.steps.length && monitor.steps[at]!.kind !== "checkpoint") at++;
        monitor.steps.splice(at, 0, step);
        continue;
      }
    }
    const phase = phases.find((p) => p.name === after) ?? phases.find((p) => p.name === "monitor");
    phase?.steps.push(step);
  }
}

function timeline(runbook: Runbook, env: string, at: DateTime | undefined): TimelineEntry[] {
  const entries = new Map<number, TimelineEntry>();
  const put = (offsetMs: number, label: string, what: string) => {
    const entry = entries.get(offsetMs) ?? {
      at: label,
      offsetMs,
      ...(at ? { time: iso(at.plus({ milliseconds: offsetMs })) } : {}),
      what: [],
    };
    entry.what.push(what);
    entries.set(offsetMs, entry);
  };
  for (const s of runbook.schedule) put(s.at.ms, s.at.text, s.name);
  for (const c of runbook.monitor?.checkpoints ?? []) {
    put(c.at.ms, c.at.text, `checkpoint${c.checks.length ? `: ${c.checks.join(", ")}` : ""}`);
  }
  for (const d of runbook.decisions)
    if (d.after.startsWith("T+") && appliesTo(d, env))
      put(offsetOf(runbook, d.after), d.after, `decision ${d.name}`);
  const contract = runbook.migrations?.contract;
  if (contract?.after.startsWith("T+"))
    put(offsetOf(runbook, contract.after), contract.after, "contract migrations");
  if (runbook.success) put(runbook.success.after.ms, `T+${runbook.success.after.text}`, "declare success");
  return [...entries.values()].sort((a, b) => a.offsetMs - b.offsetMs);
}

function offsetOf(runbook: Runbook, anchor: string): number {
  return runbook.monitor?.checkpoints.find((c) => c.at.text === anchor)?.at.ms ?? 0;
}

function iso(t: DateTime): string {
  return t.toISO({ suppressMilliseconds: true }) ?? "";
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
