/**
 * The interpreter: executes a stored plan, phase by phase. Gates of one parallel group run
 * together; every other step runs alone, through its kind's module. After each step the run
 * continues, finishes with an outcome, or rolls back. Control messages (approve, reject,
 * rollback, abort) are read between steps and while waiting.
 */
import { DBOS, DBOSWorkflowConflictError } from "@dbos-inc/dbos-sdk";
import { gitSha } from "../exec/git.js";
import type { PlanStep } from "../runbook/plan/types.js";
import type { Sealer } from "../secrets/seal.js";
import type { ControlMessage, RollbackCause, StepModule, StepResult, Transition } from "../steps/contract.js";
import { moduleFor } from "../steps/registry.js";
import { type ContextEnvironment, RunContext } from "./context.js";
import { RunDurable } from "./durable.js";
import { RollbackRequests } from "./manual-rollback.js";
import type { RunSnapshot } from "./messages.js";
import { Monitor } from "./monitor.js";
import { Notifier } from "./notifier.js";
import { pauseForPerson } from "./pause.js";
import { rollBack } from "./rollback.js";
import type { Alarm } from "./sla.js";
import { RunFinished, type RunInput, type RunResult } from "./types.js";

export interface InterpreterEnvironment extends ContextEnvironment {
  sealer: Sealer;
  /** True once this process is stopping: no run may end here. */
  halting(): boolean;
}

export class Interpreter {
  private readonly ctx: RunContext;
  private readonly durable: RunDurable;
  private readonly monitor: Monitor | undefined;
  private readonly notifier: Notifier;
  private rollingBack = false;
  private readonly rollbackRequests: RollbackRequests;
  private rollbackInfo: RunResult["rollback"];
  private phaseName = "starting";
  private startedAt: number | undefined;

  constructor(
    input: RunInput,
    private readonly environment: InterpreterEnvironment,
  ) {
    this.ctx = new RunContext(input, environment);
    this.durable = new RunDurable(this.ctx, environment.sealer, {
      nextDueAt: (now) => earliest(this.monitor?.nextSampleAt(now), this.notifier.nextDue()),
      due: async (now) => {
        const sample = this.monitor?.nextSampleAt(now);
        if (sample !== undefined && sample <= now) await this.monitor!.sample();
        else await this.notifier.progress(now);
      },
      notify: (event, occurrence, moment, send) => this.notifier.emit(event, occurrence, moment, send ?? {}),
      monitorUntil: (at) => this.monitorUntil(at),
      transition: (t) => this.transition(t),
      control: (m) => this.control(m),
      rollingBack: () => this.rollingBack,
    });
    this.ctx.durable = this.durable;
    this.rollbackRequests = new RollbackRequests(input.plan.rollbackCount ?? 1, this.durable);
    this.notifier = new Notifier(this.ctx, this.durable, (now) => this.snapshot(now));
    const spec = input.plan.monitor?.spec;
    this.monitor = spec
      ? new Monitor(spec, input.plan, this.ctx, this.durable, {
          rollback: (cause) => this.rollback(cause),
          pause: (key, reason, alarm) => this.pause(key, reason, alarm),
          rollingBack: () => this.rollingBack,
        })
      : undefined;
  }

  async execute(): Promise<RunResult> {
    const { ctx, durable } = this;
    try {
      if (this.notifier.subscribed) await this.notifier.open();
      await durable.act("resolve", async () => {
        const provider = ctx.provider("resolve");
        const good = await provider.lastKnownGood();
        const serving = good ?? (await provider.status()).version;
        const sha = gitSha(ctx.cwd, ctx.ref);
        return {
          ok: true,
          message: serving ? `serving ${serving}` : "nothing known to be serving",
          facts: { ...(serving ? { previousVersion: serving } : {}), ...(sha ? { sha } : {}) },
        };
      });
      await durable.event({
        key: "started",
        kind: "run.started",
        data: { previousVersion: ctx.facts.previousVersion, sha: ctx.facts.sha, version: ctx.version },
      });
      if (this.notifier.subscribed) {
        this.startedAt = await durable.now();
        this.notifier.anchor("release", this.startedAt);
        await this.notifier.emit("release.started", "release.started");
      }
      for (const phase of ctx.plan.phases) await this.phase(phase.name, phase.steps);
      await durable.act("mark-good", async () => {
        await ctx.provider("mark-good").markGood(ctx.version);
        return { ok: true, message: `${ctx.version} is the last known good version` };
      });
      const was = ctx.facts.previousVersion ? ` (was ${ctx.facts.previousVersion})` : "";
      throw new RunFinished("released", `${ctx.version} released to ${ctx.env}${was}`);
    } catch (error) {
      if (this.environment.halting()) await new Promise(() => undefined);
      // Another process owns the run now: nothing is recorded here.
      if (error instanceof DBOSWorkflowConflictError) throw error;
      const e =
        error instanceof RunFinished
          ? error
          : new RunFinished(
              "failed",
              `internal error in Gantry: ${(error as Error).message}${ctx.deployedNote()}`,
            );
      const unobserved = this.monitor?.unobservedMs() ?? 0;
      this.phaseName = "finished";
      const undelivered = await this.notifier.ending(e.outcome, e.reason);
      const result: RunResult = {
        run: ctx.runId,
        outcome: e.outcome,
        version: ctx.version,
        previousVersion: ctx.facts.previousVersion ?? null,
        reason: `${e.reason}${this.unobservedNote()}${undelivered.map((p) => `; ${p}`).join("")}`,
        ...(this.rollbackInfo ? { rollback: this.rollbackInfo } : {}),
        ...(unobserved > 0 ? { unobservedMs: unobserved } : {}),
      };
      await durable.event({ key: "finished", kind: "run.finished", data: { ...result } });
      return result;
    }
  }

  private async phase(phase: string, steps: PlanStep[]): Promise<void> {
    this.phaseName = phase;
    for (let i = 0; i < steps.length; i++) {
      await this.notifier.tick();
      const step = steps[i]!;
      if (step.kind === "gate" && step.parallelGroup !== undefined) {
        const group = [step];
        while (
          steps[i + 1]?.kind === "gate" &&
          (steps[i + 1] as typeof step).parallelGroup === step.parallelGroup
        )
          group.push(steps[++i] as typeof step);
        await this.group(phase, group);
        continue;
      }
      const module = this.module(step);
      const r = await this.run(phase, step, module);
      await this.after(step, module, r);
    }
  }

  /** Gates that run together; each failure is named. */
  private async group(phase: string, group: PlanStep[]): Promise<void> {
    const module = this.module(group[0]!);
    const results = await Promise.all(group.map((g) => this.durable.tracked(phase, g, module, false)));
    await this.durable.checkControl();
    const failed = group.map((g, j) => [g, results[j]!] as const).filter(([, r]) => !r.ok);
    if (failed.length === 0) return;
    for (const [g, r] of failed)
      await this.notifier.emit("gate.failed", g.id, { gate: g.title, reason: r.message });
    await this.transition({
      to: "finish",
      outcome: "gate_failed",
      reason: failed.map(([g, r]) => `gate ${g.title} failed: ${r.message}`).join("; "),
    });
  }

  private module(step: PlanStep): StepModule {
    const module = moduleFor(step);
    if (!module) throw new Error(`step kind ${step.kind} is not executable by this version (${step.id})`);
    return module;
  }

  private async run(phase: string, step: PlanStep, module: StepModule): Promise<StepResult> {
    if (module.mode === "act") return this.durable.tracked(phase, step, module);
    await this.durable.started(step.id, step.kind, step.title, phase);
    const r = await module.run(step as never, this.ctx);
    const status = r.status ?? (r.ok ? "passed" : "failed");
    await this.durable.finished(step.id, status, r.message, r.data);
    return r;
  }

  private async after(step: PlanStep, module: StepModule, r: StepResult): Promise<void> {
    if (step.kind === "gate" && !r.ok)
      await this.notifier.emit("gate.failed", step.id, { gate: step.title, reason: r.message });
    if (step.kind === "checkpoint" && r.ok) {
      const checkpoint = { at: step.at.text, name: step.title, status: "passed", summary: r.message };
      await this.notifier.emit("checkpoint.passed", step.id, { checkpoint });
    }
    const next: Transition =
      r.next ??
      (r.ok
        ? { to: "continue" }
        : (module.onFail?.(step as never, r, this.ctx) ?? {
            to: "finish",
            outcome: "failed",
            reason: `${step.title}: ${r.message}${this.ctx.deployedNote()}`,
          }));
    if (next.to !== "continue") await this.transition(next);
  }

  private async transition(t: Exclude<Transition, { to: "continue" }>): Promise<never> {
    if (t.to === "rollback") return this.rollback(t.cause);
    throw new RunFinished(t.outcome, t.reason);
  }

  private async rollback(cause: RollbackCause): Promise<never> {
    this.rollingBack = true;
    this.phaseName = "rollback";
    const detectedAt = cause.detectedAt ?? (await DBOS.now());
    return rollBack({ ...cause, detectedAt }, this.ctx, this.durable, this.notifier, (info) => {
      this.rollbackInfo = info;
    });
  }

  private async monitorUntil(at: number): Promise<{ summary: string }> {
    const m = this.monitor;
    if (!m || this.ctx.facts.deployedAt === undefined) {
      await this.durable.waitUntil(at);
      return { summary: "healthy" };
    }
    await m.begin();
    await m.next(at);
    await this.durable.waitUntil(at);
    // A checkpoint passes only when no rule is in breach and fresh samples were seen after a gap.
    while (m.holding()) {
      const due = m.nextSampleAt(await this.durable.now());
      if (due === undefined) break;
      await this.durable.waitUntil(due);
    }
    return { summary: m.summary() };
  }

  /** Pauses for a person: approve continues, reject rolls back, abort stops. */
  private pause(key: string, reason: string, alarm?: Alarm): Promise<void> {
    return pauseForPerson(key, reason, alarm, {
      plan: this.ctx.plan,
      durable: this.durable,
      notifier: this.notifier,
      rollback: (cause) => this.rollback(cause),
      control: (msg) => this.control(msg),
    });
  }

  private async control(msg: ControlMessage): Promise<void> {
    const by = msg.by;
    if (msg.type === "abort") {
      throw new RunFinished(
        "aborted",
        `aborted by ${by}${msg.reason ? `: ${msg.reason}` : ""}${this.ctx.deployedNote()}`,
      );
    }
    if (msg.type === "rollback") {
      const asked = await this.rollbackRequests.ask(by, msg.reason);
      if (!asked) return;
      if (!this.ctx.facts.deployed) {
        throw new RunFinished(
          "aborted",
          `rollback requested by ${asked.who} before the deploy: ${asked.reason}; nothing was deployed`,
        );
      }
      await this.rollback({ reason: `manual rollback by ${asked.who}: ${asked.reason}` });
    }
    // An approval nobody waits for is recorded and otherwise ignored.
  }

  /** The run as messages describe it right now. */
  private snapshot(now: number): RunSnapshot {
    const ctx = this.ctx;
    return {
      runId: ctx.runId,
      service: ctx.service,
      env: ctx.env,
      version: ctx.version,
      operator: ctx.input.operator,
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
      now,
      phase: this.phaseName,
      steps: this.durable.ledger.all(),
      signals: this.monitor?.signals() ?? {},
      ...(ctx.scope.spec.url ? { deployUrl: ctx.scope.spec.url } : {}),
    };
  }

  private unobservedNote(): string {
    const ms = this.monitor?.unobservedMs() ?? 0;
    return ms > 0 ? `; monitoring was interrupted for ${Math.round(ms / 1000)} s` : "";
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
