/**
 * The release workflow: a plan executed as one DBOS durable workflow. Every side effect runs
 * inside a durable step (checkpointed in Postgres), every wait is a durable `recv` with a
 * deadline, and everything that happens is appended to the run's event log under a key that
 * is stable across replays. After a crash, DBOS replays the workflow: finished steps return
 * their recorded results (no gate runs again, nothing deploys twice) and waits keep their
 * original deadlines.
 *
 * Control messages (approve, reject, rollback, abort) arrive on the `control` topic; they are
 * read between steps and while waiting.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { DBOS, DBOSWorkflowConflictError } from "@dbos-inc/dbos-sdk";
import { formatValue, RuleEvaluator, type Sample } from "../analysis/rules.js";
import { runDrift } from "../checks/drift.js";
import { runParity } from "../checks/parity.js";
import { baseValues, type EnvironmentScope, environmentScope, renderProbe } from "../checks/scope.js";
import { describeEnd, formatMs, runCommand } from "../exec/command.js";
import type { Phase as MigrationPhase } from "../migrations/files.js";
import {
  applyPhase,
  lossStatement,
  type MigrationTarget,
  preflight as migrationsPreflight,
  revertRun,
  schemaVersion,
} from "../migrations/run.js";
import { measure } from "../probes/index.js";
import type { Measurement, ProbeEnvironment, Value } from "../probes/types.js";
import { createProvider } from "../providers/index.js";
import type { Provider } from "../providers/types.js";
import { renderCommand } from "../runbook/command-template.js";
import { loadRunbookText } from "../runbook/load.js";
import { plan } from "../runbook/plan/plan.js";
import type { PlanStep, ReleasePlan } from "../runbook/plan/types.js";
import { PostgresProbe, type Probe } from "../runbook/schema/probes.js";
import type { IntegritySpec, Runbook } from "../runbook/schema/runbook.js";
import { parseSecretRef } from "../runbook/secret.js";
import { renderTemplate } from "../runbook/template.js";
import type { EventStore, NewEvent } from "../store/events.js";
import { resolveSecrets, type Secrets, secretsUsed } from "./secrets.js";
import type { Outcome } from "./state.js";

/**
 * The version of the workflow's shape. DBOS resumes a run only under the version that
 * started it: bump this when the sequence of durable steps changes incompatibly, and a
 * Gantry upgrade will not replay an older run against a different sequence (see docs/engine.md).
 */
export const ENGINE_VERSION = "gantry-engine-1";

export interface RunInput {
  runId: string;
  file: string;
  /** The runbook's text when the run was created: the run never re-reads the file. */
  source: string;
  env: string;
  ref: string;
  /** When the run was planned (ISO). */
  at: string;
  noCache: boolean;
  operator: string;
}

export interface RunResult {
  run: string;
  outcome: Outcome;
  version: string;
  previousVersion: string | null;
  reason: string;
  rollback?: {
    detectToDoneMs: number;
    targetMs?: number;
    withinTarget?: boolean;
    detectionLatencyMs?: number;
  };
}

export type ControlMessage =
  | { type: "approve"; by: string; step?: string; id: string }
  | { type: "reject"; by: string; step?: string; reason?: string; id: string }
  | { type: "rollback"; by: string; reason: string; id: string }
  | { type: "abort"; by: string; reason?: string; id: string };

/** What the workflow needs from the process running it. Set by the runtime before launch. */
export interface EngineEnvironment {
  store: EventStore;
  dataDir: string;
}

let environment: EngineEnvironment | undefined;
let halting = false;

/**
 * Called when this process stops (Ctrl-C, SIGTERM, shutdown). From then on no run may end
 * here: its database connections are going away, and an error caused by that must not be
 * recorded as the run's outcome. The run stays pending and resumes elsewhere or later.
 */
export function haltRuns(): void {
  halting = true;
}
export function setEngineEnvironment(env: EngineEnvironment): void {
  environment = env;
}

export class RunFinished extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly reason: string,
  ) {
    super(reason);
  }
}

interface StepOutcome {
  ok: boolean;
  message: string;
  data?: Record<string, unknown>;
  /** A control message was waiting when the step ended. */
  control?: boolean;
}

interface RollbackCause {
  reason: string;
  /** When the problem was detected (epoch ms). */
  detectedAt: number;
  /** When the rule's `for` window elapsed, for detection latency. */
  windowElapsedAt?: number;
  severity?: string;
}

const WAIT_CHUNK_S = 3600;
/** Crashes of the process in one step, in a row, after which the step is failed instead of run again. */
const CRASH_LIMIT = 2;
/** How long a backup command or one migration applied by the team's tool may take. */
const LONG_COMMAND_MS = 3_600_000;

/** A template that cannot be filled in (over its limits, a value where no quoting is safe): its step fails with this. */
class TemplateFailed extends Error {}

/** An approval refused while rolling back: that step is not done, the rest of the procedure goes on. */
class StepRejected extends Error {}

interface BackupInfo {
  id: string;
  at: string;
  file?: string;
  bytes?: number;
}

/** Runs inside the DBOS workflow. One instance per execution (and per replay). */
export class Run {
  readonly runbook: Runbook;
  readonly plan: ReleasePlan;
  readonly cwd: string;
  private readonly store: EventStore;
  private readonly secrets: Secrets;
  /** The environment for probes and pre-flight checks, filled with this run's template values. */
  private readonly scope: EnvironmentScope;
  private readonly stateDir: string;
  private previousVersion: string | undefined;
  private sha: string | undefined;
  private deployed = false;
  private deployedAt = 0;
  private captures: Record<string, unknown> = {};
  private sampling: SamplingState | undefined;
  private rollbackInfo: RunResult["rollback"];
  private rollingBack = false;
  /** Values measured before the deploy: integrity checks by name, named checks as `checks.<name>`. */
  private readonly baselines = new Map<string, Value>();
  private backupInfo: BackupInfo | undefined;
  /** Migrations applied by this run before the deploy, and whether its contract phase ran. */
  private expandApplied: string[] = [];
  private contractDone = false;

  constructor(readonly input: RunInput) {
    if (!environment) throw new Error("engine environment not set");
    this.store = environment.store;
    const loaded = loadRunbookText(input.source, input.file);
    if (!loaded.runbook) throw new Error(`runbook ${input.file} no longer validates`);
    this.runbook = loaded.runbook;
    const planned = plan(this.runbook, { env: input.env, ref: input.ref, at: input.at, file: input.file });
    if (!planned.ok) throw new Error(planned.message);
    this.plan = planned.plan;
    this.cwd = path.dirname(path.resolve(input.file));
    this.secrets = resolveSecrets(this.runbook, input.env, this.cwd);
    this.scope = environmentScope(this.runbook, input.env, input.file, () => this.templateValues());
    this.stateDir = path.join(environment.dataDir, "services", this.runbook.metadata.service, input.env);
  }

  get version(): string {
    return this.plan.ref?.version ?? this.input.ref;
  }

  // ——— the procedure ———

  async execute(): Promise<RunResult> {
    try {
      const resolved = await this.step("resolve", async () => {
        const provider = this.provider(() => undefined);
        const good = await provider.lastKnownGood();
        const serving = good ?? (await provider.status()).version;
        return { previousVersion: serving ?? null, sha: gitSha(this.cwd, this.input.ref) ?? null };
      });
      this.previousVersion = resolved.previousVersion ?? undefined;
      this.sha = resolved.sha ?? undefined;
      await this.event({
        key: "started",
        kind: "run.started",
        data: { previousVersion: this.previousVersion, sha: this.sha, version: this.version },
      });
      for (const phase of this.plan.phases) await this.runPhase(phase.name, phase.steps);
      if (this.runbook.success && this.sampling === undefined && this.runbook.monitor === undefined) {
        // success.after without monitoring: just wait.
        await this.waitUntil(this.deployedAt + this.runbook.success.after.ms);
      }
      await this.step("mark-good", async () => {
        await this.provider(() => undefined).markGood(this.version);
        return true;
      });
      throw new RunFinished(
        "released",
        `${this.version} released to ${this.input.env}${this.previousVersion ? ` (was ${this.previousVersion})` : ""}`,
      );
    } catch (error) {
      if (halting) await new Promise(() => undefined);
      // Another process owns the run now: nothing is recorded here.
      if (error instanceof DBOSWorkflowConflictError) throw error;
      const e =
        error instanceof RunFinished
          ? error
          : new RunFinished(
              "failed",
              `internal error in Gantry: ${(error as Error).message}${this.deployedNote()}`,
            );
      const result: RunResult = {
        run: this.input.runId,
        outcome: e.outcome,
        version: this.version,
        previousVersion: this.previousVersion ?? null,
        reason: e.reason,
        ...(this.rollbackInfo ? { rollback: this.rollbackInfo } : {}),
      };
      await this.event({ key: "finished", kind: "run.finished", data: { ...result } });
      return result;
    }
  }

  private async runPhase(phase: string, steps: PlanStep[]): Promise<void> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.kind === "gate" && step.parallelGroup !== undefined) {
        const group = [step];
        while (steps[i + 1]?.parallelGroup === step.parallelGroup) group.push(steps[++i]!);
        const results = await Promise.all(group.map((g) => this.tracked(phase, g, () => this.gate(g))));
        const failed = group.filter((_, j) => !results[j]!.ok);
        if (failed.length > 0) {
          throw new RunFinished(
            "gate_failed",
            failed
              .map((g, j) => `gate ${g.title} failed: ${results[group.indexOf(g)]?.message ?? j}`)
              .join("; "),
          );
        }
        continue;
      }
      await this.runStep(phase, step);
    }
  }

  private async runStep(phase: string, step: PlanStep): Promise<void> {
    switch (step.kind) {
      case "gate": {
        const r = await this.tracked(phase, step, () => this.gate(step));
        if (!r.ok) throw new RunFinished("gate_failed", `gate ${step.title} failed: ${r.message}`);
        return;
      }
      case "check":
      case "run":
      case "soak": {
        const r = await this.tracked(phase, step, () => this.preflight(step));
        if (!r.ok)
          throw new RunFinished("failed", `pre-flight ${step.title}: ${r.message}; nothing was deployed`);
        return;
      }
      case "confirm":
      case "decision":
      case "checklist":
        return this.approval(phase, step);
      case "deploy":
        return this.deploy(phase, step);
      case "backup": {
        const r = await this.tracked(phase, step, () => this.backup(step));
        if (r.ok) this.backupInfo = r.data?.backup as BackupInfo;
        else if (this.runbook.backup!.required)
          throw new RunFinished("failed", `backup failed: ${r.message}; nothing was deployed`);
        return;
      }
      case "baseline": {
        const r = await this.tracked(phase, step, () => this.baseline(step));
        if (!r.ok) throw new RunFinished("failed", `${step.title}: ${r.message}; nothing was deployed`);
        this.baselines.set(step.id.slice("baseline:".length), (r.data?.value ?? null) as Value);
        return;
      }
      case "migrate":
        return this.migrate(phase, step);
      case "integrity": {
        const r = await this.tracked(phase, step, () => this.integrity(step));
        if (!r.ok)
          await this.rollback({
            reason: `integrity ${step.title} failed: ${r.message}`,
            detectedAt: await DBOS.now(),
          });
        return;
      }
      case "smoke": {
        const r = await this.tracked(phase, step, () => this.smoke(step));
        if (!r.ok)
          await this.rollback({
            reason: `smoke ${step.title} failed: ${r.message}`,
            detectedAt: await DBOS.now(),
          });
        return;
      }
      case "checkpoint":
        return this.checkpoint(phase, step);
      case "success":
        return this.success(phase, step);
      default:
        throw new Error(`step kind ${step.kind} is not executable (${step.id})`);
    }
  }

  // ——— steps ———

  private async gate(step: PlanStep): Promise<StepOutcome> {
    const gate = this.runbook.gates.find((g) => `gate:${g.name}` === step.id)!;
    const command = this.renderShell(gate.run, step.id);
    // The cache keys on a digest of the filled-in command: it may hold a secret, never stored.
    const cacheKey = `sha256:${createHash("sha256").update(command).digest("hex")}`;
    if (gate.cache && this.sha && !this.input.noCache) {
      const cached = await this.store.cachedGate(this.sha, cacheKey);
      if (cached) {
        return {
          ok: true,
          message: `passed for commit ${this.sha.slice(0, 12)} in run ${cached.runId}; not run again (--no-cache to force)`,
          data: { cached: true },
        };
      }
    }
    const result = await this.command(step.id, command, gate.timeout.ms, gate.env);
    const ok = result.exitCode === 0 && !result.timedOut;
    if (ok && gate.cache && this.sha) await this.store.cacheGate(this.sha, cacheKey, this.input.runId);
    return {
      ok,
      message: `${describeEnd(result, gate.timeout.text)}${ok ? "" : lastLines(result.output)}`,
      data: { exitCode: result.exitCode ?? null, durationMs: result.durationMs, timedOut: result.timedOut },
    };
  }

  private async preflight(step: PlanStep): Promise<StepOutcome> {
    const env = this.runbook.environments[this.input.env]!;
    if (step.id === "soak" && env.soak) {
      const released = await this.store.releasesOf(env.soak.in, this.version);
      const first = released[0];
      if (!first) return { ok: false, message: `${this.version} was never released to ${env.soak.in}` };
      const ran = Date.now() - Date.parse(first.at);
      return ran >= env.soak.min.ms
        ? { ok: true, message: `in ${env.soak.in} since ${first.at} (${formatMs(ran)})` }
        : {
            ok: false,
            message: `${this.version} has run in ${env.soak.in} for ${formatMs(ran)} of the ${env.soak.min.text} required`,
          };
    }
    if (step.id === "promotion" && env.promoteFrom) {
      const released = await this.store.releasesOf(env.promoteFrom, this.version);
      return released.length > 0
        ? { ok: true, message: `released to ${env.promoteFrom} in run ${released[0]!.runId}` }
        : { ok: false, message: `${this.version} was never released to ${env.promoteFrom}` };
    }
    if (step.id.startsWith("validate:")) {
      const name = step.id.slice("validate:".length);
      return this.probe(step.id, this.runbook.checks[name]!);
    }
    if (step.id === "parity" && this.runbook.parity) {
      const other = environmentScope(this.runbook, this.runbook.parity.with, this.input.file);
      const r = await runParity(this.runbook.parity, this.scope, other);
      const redact = (t: string) => other.secrets.redact(this.secrets.redact(t));
      return {
        ok: r.phase === "successful",
        message: redact(r.message),
        data: { phase: r.phase, value: r.value ?? null, ...(r.detail ? { detail: r.detail } : {}) },
      };
    }
    if (step.id === "drift" && this.runbook.drift) {
      const r = await runDrift(this.runbook.drift, this.scope, {
        service: this.runbook.metadata.service,
        store: this.store,
      });
      return {
        ok: r.phase === "successful",
        message: this.secrets.redact(r.message),
        data: { phase: r.phase, ...(r.detail ? { detail: r.detail } : {}) },
      };
    }
    if (step.id === "migrations") {
      return this.guarded(async () => migrationsPreflight(this.migrationTarget()));
    }
    if (step.id === "backup-age") return this.backupAge();
    const item = this.preflightItem(step.id);
    if (item?.check) return this.probe(step.id, this.runbook.checks[item.check]!);
    if (item?.run) {
      const timeout = item.timeout?.ms ?? 600_000;
      const result = await this.command(step.id, this.renderShell(item.run, step.id), timeout, {});
      const ok = result.exitCode === 0 && !result.timedOut;
      return { ok, message: `${describeEnd(result)}${ok ? "" : lastLines(result.output)}` };
    }
    return { ok: false, message: `step ${step.id} is not executable by this version` };
  }

  private preflightItem(id: string) {
    return this.runbook.preflight.find((item, i) => {
      const name =
        item.name ?? item.check ?? (item.confirm !== undefined ? `confirm-${i + 1}` : `run-${i + 1}`);
      return `preflight:${name}` === id;
    });
  }

  private async smoke(step: PlanStep): Promise<StepOutcome> {
    const entry = this.runbook.smoke.find(
      (s, i) => `smoke:${s.name ?? ("check" in s ? s.check : `smoke-${i + 1}`)}` === step.id,
    )!;
    if ("check" in entry) return this.checkProbe(step.id, entry.check);
    return this.probe(step.id, entry);
  }

  private async deploy(phase: string, step: PlanStep): Promise<void> {
    const deploy = this.runbook.deploy!;
    this.deployed = true;
    const r = await this.tracked(phase, step, async () => {
      const result = await this.provider((line) => this.output(step.id, line)).deploy({
        version: this.version,
        key: `${this.input.runId}:deploy`,
        timeoutMs: deploy.timeout.ms,
      });
      return {
        ok: result.ok,
        message: result.replayed ? `${result.message} (already done; not deployed again)` : result.message,
        data: { finishedAt: Date.now(), replayed: result.replayed ?? false },
      };
    });
    this.deployedAt = Number(r.data?.finishedAt ?? (await DBOS.now()));
    if (!r.ok) await this.rollback({ reason: `deploy failed: ${r.message}`, detectedAt: await DBOS.now() });
  }

  // ——— backup, baselines, migrations, integrity ———

  /** Runs the backup command; records the backup's id, time and size. */
  private async backup(step: PlanStep): Promise<StepOutcome> {
    const b = this.runbook.backup!;
    return this.guarded(async () => {
      const file = b.file ? this.render(b.file, "backup.file") : undefined;
      const result = await this.command(step.id, this.renderShell(b.run!, step.id), LONG_COMMAND_MS, {});
      if (result.exitCode !== 0 || result.timedOut)
        return { ok: false, message: `${describeEnd(result)}${lastLines(result.output)}` };
      const at = new Date().toISOString();
      let bytes: number | undefined;
      if (file) {
        try {
          bytes = fs.statSync(path.resolve(this.cwd, file)).size;
        } catch {
          return { ok: false, message: `the backup command succeeded but wrote no ${file}` };
        }
      }
      const id = file ?? lastLine(result.stdout) ?? `backup of run ${this.input.runId}`;
      const backup: BackupInfo = {
        id,
        at,
        ...(file ? { file } : {}),
        ...(bytes !== undefined ? { bytes } : {}),
      };
      return {
        ok: true,
        message: `backup ${id} taken at ${at}${bytes !== undefined ? `, ${formatBytes(bytes)}` : ""}`,
        data: { backup },
      };
    });
  }

  /** Pre-flight: the latest backup (as `backup.latest` prints it) is younger than `backup.maxAge`. */
  private async backupAge(): Promise<StepOutcome> {
    const b = this.runbook.backup!;
    if (!b.latest)
      return {
        ok: false,
        message: "backup.maxAge needs backup.latest, a command printing the latest backup's time",
      };
    return this.guarded(async () => {
      const result = await this.command("backup-age", this.render(b.latest!, "backup.latest"), 120_000, {});
      if (result.exitCode !== 0 || result.timedOut)
        return { ok: false, message: `backup.latest: ${describeEnd(result)}${lastLines(result.output)}` };
      const printed = lastLine(result.stdout) ?? "";
      const at = Date.parse(printed);
      if (!printed || Number.isNaN(at))
        return {
          ok: false,
          message: `backup.latest printed ${JSON.stringify(printed.slice(0, 60))}, not a time such as 2026-01-31T09:30:00Z`,
        };
      const age = Date.now() - at;
      const ok = age <= b.maxAge!.ms;
      return {
        ok,
        message: `latest backup ${printed} is ${formatMs(Math.max(0, age))} old${ok ? "" : `, older than ${b.maxAge!.text}`}`,
        data: { latest: printed, ageMs: age },
      };
    });
  }

  /** Measures a value before the deploy: an integrity check with a tolerance, or a named check with baseline. */
  private async baseline(step: PlanStep): Promise<StepOutcome> {
    const key = step.id.slice("baseline:".length);
    if (key.startsWith("checks."))
      return this.probe(step.id, this.runbook.checks[key.slice("checks.".length)]!);
    return this.probe(step.id, integrityProbe(this.runbook.integrity.find((c) => c.name === key)!));
  }

  private async integrity(step: PlanStep): Promise<StepOutcome> {
    const name = step.id.slice("integrity:".length);
    const check = this.runbook.integrity.find((c) => c.name === name)!;
    if (check.tolerance !== undefined && !this.baselines.has(name))
      return { ok: false, message: "no value from before the deploy to compare with" };
    return this.probe(step.id, integrityProbe(check), undefined, this.baselines.get(name));
  }

  private async migrate(phase: string, step: PlanStep): Promise<void> {
    const which: MigrationPhase = step.id === "migrate:contract" ? "contract" : "expand";
    const m = this.runbook.migrations!;
    const r = await this.tracked(phase, step, () =>
      this.guarded(async () => {
        const expect = which === "expand" && m.schemaVersion?.expect;
        return applyPhase(this.migrationTarget(), which, {
          runId: this.input.runId,
          onLine: (line) => this.output(step.id, line),
          ...(expect ? { expectVersion: this.render(expect, "migrations.schemaVersion.expect") } : {}),
          ...(m.runner === "command"
            ? {
                command: async (f) => {
                  const values = { migration: { file: f.file, name: f.name } };
                  const result = await this.command(
                    step.id,
                    this.renderShell(m.command!.apply, step.id, {}, values),
                    LONG_COMMAND_MS,
                    {},
                  );
                  const ok = result.exitCode === 0 && !result.timedOut;
                  return { ok, message: `${describeEnd(result)}${ok ? "" : lastLines(result.output)}` };
                },
              }
            : {}),
        });
      }),
    );
    const applied = (r.data?.applied as string[] | undefined) ?? [];
    if (which === "expand") this.expandApplied = applied;
    else this.contractDone = true;
    if (r.ok) return;
    if (which === "expand") throw new RunFinished("failed", `${r.message}${this.deployedNote()}`);
    throw new RunFinished(
      "failed",
      `${r.message}; ${this.version} stays deployed and its expand schema stays in place; fix the migration and release again`,
    );
  }

  /** Where this run's migrations go: the environment's database, secrets filled in. */
  private migrationTarget(): MigrationTarget {
    const m = this.runbook.migrations;
    if (!m) throw new Error("the runbook has no migrations section");
    const db = this.scope.spec.database;
    if (!db) throw new Error(`environment ${this.input.env} has no database.url; migrations apply there`);
    const versionQuery = m.schemaVersion?.query ?? db.schemaVersion;
    return {
      migrations: m,
      dir: this.cwd,
      url: this.scope.field(db.url, `environments.${this.input.env}.database.url`),
      ...(versionQuery ? { versionQuery } : {}),
    };
  }

  /** Runs `body`; an error it throws (a secret not set, a database down) is the step's failure. */
  private async guarded(body: () => Promise<StepOutcome>): Promise<StepOutcome> {
    try {
      return await body();
    } catch (e) {
      return { ok: false, message: this.secrets.redact((e as Error).message) };
    }
  }

  /**
   * The rollback step `migrations: down|restore`: states what would be lost, asks the
   * runbook's approver when data would be, then runs this run's down scripts (latest first)
   * or the restore command.
   */
  private async rollbackMigrations(
    id: string,
    title: string,
    strategy: "down" | "restore",
  ): Promise<StepOutcome> {
    const m = this.runbook.migrations;
    if (!m) return { ok: true, message: "the runbook has no migrations" };
    const loss = await this.step(`${id}:loss`, () =>
      this.guarded(async () => {
        const r = await lossStatement(
          this.migrationTarget(),
          this.input.runId,
          strategy,
          this.backupInfo,
          Date.now(),
        );
        return { ok: true, message: r.statement, data: r };
      }),
    );
    if (!loss.ok) {
      const step: PlanStep = { id, kind: "rollback", title };
      await this.finishStep(step, "failed", loss.message);
      return { ok: false, message: loss.message };
    }
    const applied = (loss.data?.applied as string[]) ?? [];
    await this.event({
      key: `${id}:loss`,
      kind: "migrations.loss",
      step: id,
      data: { strategy, applied, statement: loss.message, losesData: loss.data?.losesData ?? false },
    });
    if (applied.length > 0 && m.rollback.approval && loss.data?.losesData) {
      await this.approval("rollback", {
        id: `${id}:approval`,
        kind: "confirm",
        title: `${strategy === "down" ? "run the down scripts" : "restore the backup"} (role ${m.rollback.approval}): ${loss.message}`,
      });
    }
    return this.tracked("rollback", { id, kind: "rollback", title }, () =>
      this.guarded(async () => {
        if (applied.length === 0) return { ok: true, message: loss.message };
        const target = this.migrationTarget();
        if (strategy === "down") return revertRun(target, this.input.runId, (line) => this.output(id, line));
        const result = await this.command(id, this.renderShell(m.rollback.restore!, id), LONG_COMMAND_MS, {});
        const ok = result.exitCode === 0 && !result.timedOut;
        if (!ok) return { ok, message: `restore: ${describeEnd(result)}${lastLines(result.output)}` };
        const version = await schemaVersion(target);
        return {
          ok,
          message: `restored ${this.backupInfo?.id ?? "the backup"}; schema version ${version ?? "(none)"}`,
          data: { schemaVersion: version },
        };
      }),
    );
  }

  // ——— approvals ———

  private async approval(phase: string, step: PlanStep): Promise<void> {
    const { needed, what, timeout, onTimeout } = this.approvalSpec(step);
    await this.event({
      key: `${step.id}:started`,
      kind: "step.started",
      step: step.id,
      data: meta(phase, step),
    });
    await this.event({
      key: `${step.id}:waiting`,
      kind: "approval.waiting",
      step: step.id,
      data: { what, needed },
    });
    const approvers = new Set<string>();
    const deadline = timeout !== undefined ? (await DBOS.now()) + timeout : undefined;
    while (approvers.size < needed) {
      const msg = await this.receive(deadline);
      if (msg === undefined) {
        const reason = `${what}: no answer within ${formatMs(timeout ?? 0)}`;
        await this.finishStep(step, onTimeout === "proceed" ? "passed" : "failed", `${reason}; ${onTimeout}`);
        if (onTimeout === "proceed") return;
        if (onTimeout === "rollback" && this.deployed) {
          await this.rollback({ reason, detectedAt: await DBOS.now() });
          return;
        }
        throw new RunFinished("aborted", `${reason}${this.deployedNote()}`);
      }
      if (msg.type === "approve") {
        if (approvers.has(msg.by)) continue;
        approvers.add(msg.by);
        await this.event({
          key: `approval:${step.id}:${msg.by}`,
          kind: "approval",
          step: step.id,
          data: { by: msg.by, count: approvers.size, needed },
        });
      } else if (msg.type === "reject") {
        const reason = `${what}: rejected by ${msg.by}${msg.reason ? `: ${msg.reason}` : ""}`;
        await this.finishStep(step, "failed", reason);
        if (this.rollingBack) throw new StepRejected(reason);
        if (this.deployed) {
          await this.rollback({ reason, detectedAt: await DBOS.now() });
          return;
        }
        throw new RunFinished("aborted", `${reason}; nothing was deployed`);
      } else {
        await this.handleControl(msg);
      }
    }
    await this.finishStep(step, "passed", `approved by ${[...approvers].join(", ")}`);
  }

  private approvalSpec(step: PlanStep): {
    needed: number;
    what: string;
    timeout?: number;
    onTimeout: "abort" | "rollback" | "proceed";
  } {
    const name = step.id.slice(step.id.indexOf(":") + 1);
    if (step.kind === "decision") {
      const d = this.runbook.decisions.find((x) => x.name === name)!;
      return {
        needed: d.approvers.reduce((n, a) => n + a.count, 0),
        what: `decision ${d.name}`,
        ...(d.timeout ? { timeout: d.timeout.ms } : {}),
        onTimeout: d.onTimeout,
      };
    }
    if (step.kind === "checklist") {
      const c = this.runbook.checklists.find((x) => x.name === name)!;
      return {
        needed: c.signoff.reduce((n, a) => n + a.count, 0),
        what: `checklist ${c.name}`,
        onTimeout: "abort",
      };
    }
    const item = this.preflightItem(step.id);
    return {
      needed: 1,
      what: `confirmation "${item?.confirm ?? step.title}"`,
      ...(item?.timeout ? { timeout: item.timeout.ms } : {}),
      onTimeout: "abort",
    };
  }

  // ——— monitoring ———

  private async checkpoint(phase: string, step: PlanStep): Promise<void> {
    const monitor = this.runbook.monitor!;
    const cp = monitor.checkpoints.find((c) => `checkpoint:${c.at.text}` === step.id)!;
    await this.event({
      key: `${step.id}:started`,
      kind: "step.started",
      step: step.id,
      data: meta(phase, step),
    });
    await this.monitorUntil(this.deployedAt + cp.at.ms);
    const failures: string[] = [];
    for (const name of cp.checks) {
      const r = await this.step(`${step.id}:check:${name}`, () => this.checkProbe(step.id, name));
      if (!r.ok) failures.push(`${name}: ${r.message}`);
    }
    if (failures.length > 0) {
      await this.finishStep(step, "failed", failures.join("; "));
      await this.rollback({
        reason: `checkpoint ${cp.at.text} failed: ${failures.join("; ")}`,
        detectedAt: await DBOS.now(),
      });
      return;
    }
    await this.finishStep(step, "passed", this.sampling?.summary() ?? "healthy");
  }

  private async success(phase: string, step: PlanStep): Promise<void> {
    const success = this.runbook.success!;
    await this.event({
      key: `${step.id}:started`,
      kind: "step.started",
      step: step.id,
      data: meta(phase, step),
    });
    if (this.runbook.monitor) await this.monitorUntil(this.deployedAt + success.after.ms);
    else await this.waitUntil(this.deployedAt + success.after.ms);
    await this.finishStep(step, "passed", `no ${success.without.join("/")} rule fired`);
  }

  /** Samples every signal each interval from T until `until`, judging every rule; acts on what fires. */
  private async monitorUntil(until: number): Promise<void> {
    const monitor = this.runbook.monitor!;
    if (!this.sampling) {
      const last = Math.max(...monitor.checkpoints.map((c) => c.at.ms), this.runbook.success?.after.ms ?? 0);
      this.sampling = new SamplingState(this, this.deployedAt, monitor.interval.ms);
      await this.event({
        key: "monitor:started",
        kind: "monitor.started",
        data: {
          t: new Date(this.deployedAt).toISOString(),
          endsAt: new Date(this.deployedAt + last).toISOString(),
          interval: monitor.interval.text,
        },
      });
    }
    const s = this.sampling;
    const next = monitor.checkpoints.find((c) => this.deployedAt + c.at.ms >= until);
    if (next) {
      await this.event({
        key: `checkpoint-next:${next.at.text}`,
        kind: "checkpoint.next",
        data: { at: new Date(this.deployedAt + next.at.ms).toISOString(), name: next.at.text },
      });
    }
    for (;;) {
      const now = await DBOS.now();
      const dueAt = s.nextSampleAt(now);
      // A checkpoint passes only when no rule is in breach: a condition that holds but has
      // not held for its `for:` yet is sampled on until it fires or clears.
      if (dueAt > until && !s.inBreach()) {
        await this.waitUntil(until);
        return;
      }
      await this.waitUntil(dueAt);
      const k = s.k;
      const taken = await this.step(`sample:${k}`, () => s.take());
      s.record(taken);
      for (const [signal, m] of Object.entries(taken.measurements)) {
        await this.event({
          key: `m:${k}:${signal}`,
          kind: "measurement",
          data: {
            signal,
            sample: k,
            phase: m.phase,
            value: m.value ?? null,
            message: m.message,
            at: m.finishedAt,
          },
        });
      }
      for (const verdict of s.judge(taken)) {
        if (verdict.state === "ok" || verdict.state === "pending") continue;
        if (verdict.state === "fired" && verdict.repeat) continue;
        await this.event({
          key: `v:${k}:${verdict.rule}`,
          kind: "verdict",
          data: { ...verdict, sample: k },
        });
        if (verdict.state === "missing") {
          if (verdict.action === "hold") await this.pause(`${verdict.reason}: holding for a person`);
          continue;
        }
        if (verdict.watch) continue;
        if (verdict.action === "rollback") {
          await this.rollback({
            reason: verdict.reason,
            detectedAt: verdict.firedAt,
            windowElapsedAt: verdict.windowElapsedAt,
            severity: verdict.severity,
          });
        } else if (verdict.action === "pause") {
          await this.pause(verdict.reason);
        }
      }
      s.k++;
    }
  }

  /** Pauses for a person: approve continues, rollback rolls back, abort stops. */
  private async pause(reason: string): Promise<void> {
    const key = `pause:${this.sampling?.k ?? 0}`;
    await this.event({
      key,
      kind: "approval.waiting",
      step: key,
      data: { what: `continue after: ${reason}`, needed: 1 },
    });
    for (;;) {
      const msg = await this.receive(undefined);
      if (msg?.type === "approve") {
        await this.event({
          key: `${key}:approved`,
          kind: "step.finished",
          step: key,
          data: { status: "passed", message: `continued by ${msg.by}` },
        });
        return;
      }
      if (msg?.type === "reject") {
        await this.rollback({ reason: `${reason}; rejected by ${msg.by}`, detectedAt: await DBOS.now() });
      }
      if (msg) await this.handleControl(msg);
    }
  }

  // ——— rollback ———

  /** Restores the last known good version, verifies it, and ends the run as rolled_back (or failed). */
  private async rollback(cause: RollbackCause): Promise<never> {
    const startedAt = await DBOS.now();
    this.rollingBack = true;
    const target = this.previousVersion;
    const heldBack =
      this.plan.phases.some((p) => p.steps.some((s) => s.id === "migrate:contract")) && !this.contractDone;
    if (heldBack) {
      await this.event({
        key: "migrate:contract:finished",
        kind: "step.finished",
        step: "migrate:contract",
        data: { status: "skipped", message: `held back: ${cause.reason}` },
      });
    }
    const spec = this.runbook.rollback;
    const targetMs =
      (cause.severity ? spec?.targets[cause.severity as "P0"]?.ms : undefined) ?? spec?.target.ms;
    await this.event({
      key: "rollback:started",
      kind: "rollback.started",
      data: {
        reason: cause.reason,
        detectedAt: new Date(cause.detectedAt).toISOString(),
        to: target ?? null,
        ...(cause.windowElapsedAt !== undefined
          ? { detectionLatencyMs: startedAt - cause.windowElapsedAt }
          : {}),
      },
    });
    if (!target) {
      await this.event({ key: "rollback:finished", kind: "rollback.finished", data: { ok: false } });
      throw new RunFinished(
        "failed",
        `${cause.reason}; no earlier version is known to roll back to: ${this.version} may still be serving`,
      );
    }
    const steps = spec?.steps ?? [{ revert: true }];
    const problems: string[] = [];
    for (const [i, s] of steps.entries()) {
      const id = `rollback:${i + 1}`;
      const title =
        s.name ??
        (s.revert
          ? `restore ${target}`
          : s.migrations
            ? s.migrations === "down"
              ? "run this release's down migrations"
              : "restore the database from the backup"
            : s.run
              ? "run"
              : s.check
                ? `check ${s.check}`
                : s.wait
                  ? `wait ${s.wait.text}`
                  : (s.confirm ?? "step"));
      const step: PlanStep = { id, kind: "rollback", title };
      if (s.wait) {
        await this.event({
          key: `${id}:started`,
          kind: "step.started",
          step: id,
          data: meta("rollback", step),
        });
        await this.waitUntil((await DBOS.now()) + s.wait.ms, false);
        await this.finishStep(step, "passed", `waited ${s.wait.text}`);
        continue;
      }
      try {
        if (s.confirm) {
          await this.approval("rollback", { ...step, kind: "confirm", title: s.confirm });
          continue;
        }
        if (s.migrations) {
          const r = await this.rollbackMigrations(id, title, s.migrations);
          if (!r.ok) problems.push(`${title}: ${r.message}`);
          continue;
        }
      } catch (e) {
        if (!(e instanceof StepRejected)) throw e;
        problems.push(e.message);
        continue;
      }
      const r = await this.tracked("rollback", step, async (): Promise<StepOutcome> => {
        if (s.revert) {
          const result = await this.provider((line) => this.output(id, line)).rollback({
            version: target,
            key: `${this.input.runId}:rollback`,
            timeoutMs: this.runbook.deploy!.timeout.ms,
          });
          return { ok: result.ok, message: result.message };
        }
        if (s.run) {
          const result = await this.command(id, this.renderShell(s.run, id), s.timeout?.ms ?? 600_000, {});
          const ok = result.exitCode === 0 && !result.timedOut;
          return { ok, message: `${describeEnd(result)}${ok ? "" : lastLines(result.output)}` };
        }
        if (s.check) return this.checkProbe(id, s.check);
        return { ok: false, message: "not executable by this version" };
      });
      if (!r.ok) problems.push(`${title}: ${r.message}`);
    }
    const verify = await this.tracked(
      "rollback",
      { id: "rollback:verify", kind: "rollback", title: `verify ${target} is serving and healthy` },
      async () => {
        const status = await this.provider(() => undefined).status();
        const ok = status.healthy && (status.version === undefined || status.version === target);
        return { ok, message: status.message };
      },
    );
    const doneAt = await DBOS.now();
    const detectToDoneMs = doneAt - cause.detectedAt;
    const ok = problems.length === 0 && verify.ok;
    this.rollbackInfo = {
      detectToDoneMs,
      ...(targetMs !== undefined ? { targetMs, withinTarget: detectToDoneMs <= targetMs } : {}),
      ...(cause.windowElapsedAt !== undefined
        ? { detectionLatencyMs: startedAt - cause.windowElapsedAt }
        : {}),
    };
    await this.event({
      key: "rollback:finished",
      kind: "rollback.finished",
      data: { ok, ...this.rollbackInfo, problems },
    });
    const timing = `detection to rollback complete ${formatMs(detectToDoneMs)}${targetMs !== undefined ? ` (target ${formatMs(targetMs)}${detectToDoneMs <= targetMs ? "" : ", missed"})` : ""}`;
    if (!ok) {
      throw new RunFinished(
        "failed",
        `${cause.reason} → rollback to ${target} did not complete: ${[...problems, verify.ok ? "" : `verify: ${verify.message}`].filter(Boolean).join("; ")}`,
      );
    }
    const held = heldBack ? "; contract migrations held back" : "";
    throw new RunFinished("rolled_back", `${cause.reason} → rolled back to ${target}${held}; ${timing}`);
  }

  // ——— control ———

  /** Reads a pending control message without waiting, and acts on it. */
  private async checkControl(): Promise<void> {
    const msg = await this.recvControl(0);
    if (msg) await this.handleControl(msg);
  }

  /** Receives one control message (durably), recording it in the log. */
  private async recvControl(seconds: number): Promise<ControlMessage | undefined> {
    const msg = await DBOS.recv<ControlMessage>("control", seconds);
    if (!msg) return undefined;
    await this.event({ key: `control:${msg.id}`, kind: "decision", data: { ...msg } });
    return msg;
  }

  private async handleControl(msg: ControlMessage): Promise<void> {
    if (msg.type === "abort") {
      throw new RunFinished(
        "aborted",
        `aborted by ${msg.by}${msg.reason ? `: ${msg.reason}` : ""}${this.deployedNote()}`,
      );
    }
    if (msg.type === "rollback") {
      if (!this.deployed) {
        throw new RunFinished(
          "aborted",
          `rollback requested by ${msg.by} before the deploy: ${msg.reason}; nothing was deployed`,
        );
      }
      await this.rollback({
        reason: `manual rollback by ${msg.by}: ${msg.reason}`,
        detectedAt: await DBOS.now(),
      });
    }
    // An approval nobody waits for is recorded and otherwise ignored.
  }

  private deployedNote(): string {
    if (this.deployed) return `; ${this.version} stays deployed (roll back with gantry rollback)`;
    return this.expandApplied.length
      ? `; nothing was deployed (the expand migrations applied stay: ${this.expandApplied.join(", ")}; they are backward-compatible)`
      : "; nothing was deployed";
  }

  /** Waits for a control message until `deadline` (epoch ms; none: forever). Undefined on timeout. */
  private async receive(deadline: number | undefined): Promise<ControlMessage | undefined> {
    for (;;) {
      const now = await DBOS.now();
      if (deadline !== undefined && now >= deadline) return undefined;
      const seconds = deadline === undefined ? WAIT_CHUNK_S : Math.min(WAIT_CHUNK_S, (deadline - now) / 1000);
      const msg = await this.recvControl(seconds);
      if (msg) return msg;
    }
  }

  /** Durable wait until `at` (epoch ms); control messages that arrive meanwhile are acted on. */
  private async waitUntil(at: number, control = true): Promise<void> {
    for (;;) {
      const now = await DBOS.now();
      if (now >= at) return;
      if (!control) {
        await DBOS.sleep(at - now);
        return;
      }
      const msg = await this.recvControl((at - now) / 1000);
      if (msg) await this.handleControl(msg);
    }
  }

  // ——— plumbing ———

  /** A durable step that records its start and end in the event log. */
  private async tracked(
    phase: string,
    step: PlanStep,
    body: () => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    const r = await this.step(step.id, async () => {
      // A step that finished but was not checkpointed (killed in between) is not done again.
      const done = (await this.finishedSteps()).get(step.id);
      if (done) {
        return {
          ok: done.status === "passed",
          message: String(done.message ?? ""),
          data: done,
          control: true,
        };
      }
      // A step that took the gantry process down twice in a row is failed, not run a third time.
      const crashes = (await this.stepAttempts()).get(step.id) ?? 0;
      if (crashes >= CRASH_LIMIT) {
        const message = `this step ended the gantry process ${crashes} times in a row without finishing (a crash, not a stop); marked failed so the run cannot crash-loop`;
        const control = await this.finishStep(step, "failed", message);
        return { ok: false, message, control };
      }
      // Durable before the step acts, so an attempt that takes the process down is counted.
      await this.event({
        key: this.everStarted.has(step.id) ? `${step.id}:started:${randomUUID()}` : `${step.id}:started`,
        kind: "step.started",
        step: step.id,
        data: meta(phase, step),
      }).catch(() => undefined);
      let r: StepOutcome;
      try {
        r = await body();
      } catch (e) {
        r = {
          ok: false,
          message: e instanceof TemplateFailed ? e.message : `internal error: ${(e as Error).message}`,
        };
      }
      r = { ...r, message: this.secrets.redact(r.message) };
      const control = await this.finishStep(step, r.ok ? "passed" : "failed", r.message, r.data);
      return { ...r, control };
    });
    // A control message arrived meanwhile (recorded in the step's result, so replays agree).
    if (r.control) await this.checkControl();
    return r;
  }

  private finishedCache: Map<string, Record<string, unknown>> | undefined;
  private attemptsCache: Map<string, number> | undefined;
  /** Steps whose start an earlier process recorded: a new attempt gets a key of its own. */
  private everStarted = new Set<string>();

  /**
   * For each unfinished step, how many times in a row an attempt started and the process
   * ended without finishing it or stopping cleanly (a `run.interrupted` resets the count).
   */
  private async stepAttempts(): Promise<Map<string, number>> {
    if (!this.attemptsCache) {
      const events = await this.store.list(this.input.runId);
      for (const e of events) if (e.kind === "step.started" && e.step) this.everStarted.add(e.step);
      const counts = new Map<string, number>();
      for (const e of events) {
        if (e.kind === "run.interrupted" || e.kind === "executor.lost") counts.clear();
        else if (e.kind === "step.started" && e.step) counts.set(e.step, (counts.get(e.step) ?? 0) + 1);
        else if (e.kind === "step.finished" && e.step) counts.delete(e.step);
      }
      this.attemptsCache = counts;
    }
    return this.attemptsCache;
  }

  /** Steps this run finished before (a crash may have cut them off before their checkpoint). */
  private async finishedSteps(): Promise<Map<string, Record<string, unknown>>> {
    if (!this.finishedCache) {
      const events = await this.store.list(this.input.runId);
      this.finishedCache = new Map(
        events.filter((e) => e.kind === "step.finished" && e.step).map((e) => [e.step!, e.data]),
      );
    }
    return this.finishedCache;
  }

  /** Records a step's end. Returns whether a control message is waiting for the run. */
  private async finishStep(
    step: PlanStep,
    status: "passed" | "failed" | "skipped",
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<boolean> {
    const stored = await this.event({
      key: `${step.id}:finished`,
      kind: "step.finished",
      step: step.id,
      data: { status, message: this.secrets.redact(message), ...data },
    });
    return (stored as { controlPending?: boolean } | undefined)?.controlPending ?? false;
  }

  private step<T>(name: string, body: () => Promise<T>): Promise<T> {
    return DBOS.runStep(body, { name });
  }

  /** Every event of the run goes through here: each string in it is masked before it is stored. */
  event(e: NewEvent): Promise<unknown> {
    return this.store.append(this.input.runId, {
      ...e,
      ...(e.data ? { data: maskDeep(e.data, this.secrets.redact) as Record<string, unknown> } : {}),
    });
  }

  private output(step: string, line: string): void {
    void this.store
      .append(this.input.runId, {
        key: `${step}:out:${randomUUID()}`,
        kind: "output",
        step,
        data: { line: this.secrets.redact(line) },
      })
      .catch(() => undefined);
  }

  private async command(step: string, command: string, timeoutMs: number, env: Record<string, string>) {
    const missing = secretsUsed(command).filter((n) => this.secrets.missing[n] !== undefined);
    if (missing.length > 0) {
      return {
        timedOut: false,
        aborted: false,
        output: [],
        stdout: "",
        durationMs: 0,
        problem: missing.map((n) => `secret ${n} (${this.secrets.missing[n]}) is not set`).join("; "),
      };
    }
    return runCommand(command, {
      cwd: this.cwd,
      env,
      timeoutMs,
      // An attempt left running by a gantry that died is ended before this one starts.
      track: { dir: path.join(environment!.dataDir, "attempts"), key: `${this.input.runId}:${step}` },
      onLine: (line) => this.output(step, line),
    });
  }

  /** A named check; a postgres check with `baseline:` is compared with its value from before the deploy. */
  private checkProbe(step: string, name: string): Promise<StepOutcome> {
    return this.probe(step, this.runbook.checks[name]!, undefined, this.baselines.get(`checks.${name}`));
  }

  private async probe(step: string, spec: Probe, previous?: unknown, baseline?: Value): Promise<StepOutcome> {
    const m = await this.measure(spec, step, previous, baseline);
    if (m.captures) Object.assign(this.captures, m.captures);
    return {
      ok: m.phase === "successful",
      message: this.secrets.redact(m.message),
      // Captured values (a login's token) stay in memory: the log names them, never shows them.
      data: {
        phase: m.phase,
        value: m.value ?? null,
        ...(m.captures ? { captured: Object.keys(m.captures) } : {}),
      },
    };
  }

  /** Measures a probe with the run's template values, its environment's connections and its secrets masked. */
  private async measure(
    spec: Probe,
    where: string,
    previous?: unknown,
    baseline?: Value,
  ): Promise<Measurement> {
    let rendered: Probe;
    let env: ProbeEnvironment;
    try {
      rendered = renderProbe(
        spec,
        (v) => this.renderDeep(v, where) as typeof v,
        (c) => this.renderShell(c, `${where}.run`),
      );
      // A probe's own connection URL may be a secret reference (url: env:REPORTING_DATABASE_URL).
      if ("url" in rendered && typeof rendered.url === "string" && parseSecretRef(rendered.url))
        rendered = { ...rendered, url: this.scope.field(rendered.url, `${where}.url`) } as Probe;
      env = this.scope.probeEnvironment(rendered);
    } catch (e) {
      const now = new Date().toISOString();
      return {
        phase: "error",
        message: this.secrets.redact((e as Error).message),
        startedAt: now,
        finishedAt: now,
      };
    }
    return measure(rendered, {
      previous,
      env,
      redact: this.secrets.redact,
      dir: this.cwd,
      ...(baseline !== undefined ? { baseline } : {}),
      ...(this.deployedAt ? { since: new Date(this.deployedAt).toISOString() } : {}),
    });
  }

  private provider(onLine: (line: string) => void): Provider {
    const provider = createProvider(this.runbook.deploy!, {
      stateDir: this.stateDir,
      cwd: this.cwd,
      render: (template, values) =>
        this.renderShell(template, "deploy", {
          version: values.version,
          ...(values.previousVersion ? { previousVersion: values.previousVersion } : {}),
        }),
      redact: this.secrets.redact,
      onLine,
    });
    if (!provider) throw new Error(`deploy provider ${this.runbook.deploy!.provider} is not executable`);
    return provider;
  }

  /** The values templates see at run time. */
  templateValues(
    release: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const ref = this.plan.ref;
    return {
      ...baseValues(this.runbook, this.input.env, this.input.file, this.secrets),
      release: {
        version: this.version,
        ref: this.input.ref,
        rc: ref?.rc ?? false,
        ...(ref?.kind === "tag" ? { tag: ref.ref } : {}),
        ...(this.sha ? { sha: this.sha } : {}),
        previousVersion: this.previousVersion,
        ...release,
      },
      run: { id: this.input.runId, operator: this.input.operator },
      captures: this.captures,
      backup: this.backupInfo ?? {},
      ...extra,
    };
  }

  private render(
    template: string,
    where: string,
    release: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ): string {
    return this.fill(template, where, false, release, extra);
  }

  /** A shell command: every value in it reaches the command as data (see renderCommand). */
  private renderShell(
    template: string,
    where: string,
    release: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ): string {
    return this.fill(template, where, true, release, extra);
  }

  private fill(
    template: string,
    where: string,
    shell: boolean,
    release: Record<string, unknown>,
    extra: Record<string, unknown>,
  ): string {
    if (!template.includes("{{") && !template.includes("{%")) return template;
    const values = this.templateValues(release, extra);
    try {
      return shell ? renderCommand(template, values) : renderTemplate(template, values, { root: this.cwd });
    } catch (e) {
      throw new TemplateFailed(
        `${where}: cannot fill in ${JSON.stringify(template)}: ${(e as Error).message}`,
      );
    }
  }

  private renderDeep(value: unknown, where: string): unknown {
    if (typeof value === "string") return this.render(value, where);
    if (Array.isArray(value)) return value.map((v) => this.renderDeep(v, where));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.renderDeep(v, where)]));
    }
    return value;
  }

  /** Used by the sampler: measures one signal with the run's template values. */
  measureSignal(name: string, spec: Probe, previous: unknown): Promise<Measurement> {
    return this.measure(spec, `monitor.signals.${name}`, previous);
  }
}

/** The monitoring loop's state: which sample is next, each signal's last probe state, the rule evaluators. */
class SamplingState {
  k = 0;
  private readonly previous: Record<string, unknown> = {};
  private readonly evaluators: RuleEvaluator[];
  private last: Record<string, Measurement> = {};

  private readonly runbook: Runbook;

  constructor(
    private readonly run: Run,
    private readonly t: number,
    private readonly interval: number,
  ) {
    this.runbook = run.runbook;
    const monitor = this.runbook.monitor!;
    this.evaluators = monitor.rules.map((r) => new RuleEvaluator(r, monitor.tiers));
  }

  /** The time of sample k, never earlier than now: a late start (replay) skips samples it missed. */
  nextSampleAt(now: number): number {
    let at = this.t + this.k * this.interval;
    while (at + this.interval <= now) {
      this.k++;
      at += this.interval;
    }
    return at;
  }

  async take(): Promise<{ at: number; measurements: Record<string, Measurement> }> {
    const run = this.run;
    const signals = Object.entries(this.runbook.monitor!.signals);
    const results = await Promise.all(
      signals.map(([n, spec]) => run.measureSignal(n, spec, this.previous[n])),
    );
    return { at: Date.now(), measurements: Object.fromEntries(signals.map(([n], i) => [n, results[i]!])) };
  }

  record(taken: { measurements: Record<string, Measurement> }): void {
    for (const [n, m] of Object.entries(taken.measurements)) {
      this.previous[n] = m.state;
      this.last[n] = m;
    }
  }

  private lastVerdicts: ReturnType<RuleEvaluator["observe"]>[] = [];

  /** Whether an enforced rule's condition holds now without having fired yet. */
  inBreach(): boolean {
    return this.lastVerdicts.some(
      (v, k) => v.state === "pending" && this.runbook.monitor!.rules[k]!.mode === "enforce",
    );
  }

  judge(taken: {
    at: number;
    measurements: Record<string, Measurement>;
  }): ReturnType<RuleEvaluator["observe"]>[] {
    this.lastVerdicts = this.evaluators.map((e, i) => {
      const rule = this.runbook.monitor!.rules[i]!;
      const measurement = taken.measurements[rule.when.subject];
      const sample: Sample = {
        at: taken.at,
        measurement: measurement ?? {
          phase: "inconclusive",
          message: `no signal ${rule.when.subject}`,
          startedAt: new Date(taken.at).toISOString(),
          finishedAt: new Date(taken.at).toISOString(),
        },
      };
      return e.observe(sample);
    });
    return this.lastVerdicts;
  }

  summary(): string {
    const parts = Object.entries(this.last).map(
      ([n, m]) => `${n} ${m.value === undefined || m.value === null ? m.phase : formatValue(m.value)}`,
    );
    return parts.length ? parts.join(", ") : "healthy";
  }
}

/** An integrity check is a postgres query probe: against its expectation, or its baseline within ±tolerance. */
function integrityProbe(c: IntegritySpec): Probe {
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

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Masks every string of a value (an event's data: step results, measurements, details). */
function maskDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, redact));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, redact)]));
  }
  return value;
}

function meta(phase: string, step: PlanStep): Record<string, unknown> {
  return { phase, kind: step.kind, title: step.title };
}

/** The last non-empty line a command printed, trimmed. */
function lastLine(stdout: string): string | undefined {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
}

function lastLines(lines: string[]): string {
  const tail = lines.filter((l) => l.trim() !== "").slice(-3);
  return tail.length ? `: ${tail.join(" ⏎ ")}` : "";
}

/** The commit a ref names in the runbook's git repository, when there is one. */
function gitSha(cwd: string, ref: string): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd,
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** The DBOS workflow function: registered by the runtime as `release`. */
export async function releaseWorkflow(input: RunInput): Promise<RunResult> {
  return new Run(input).execute();
}
