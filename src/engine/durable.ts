/**
 * The durable operations of a run: recorded steps, events, waits and control messages. Every
 * effect goes through DBOS (a step's result, the clock, a message, a sleep), so a replay after
 * a crash takes the same path and returns recorded results instead of acting again.
 *
 * Monitoring and transitions are the interpreter's: it plugs them in as `hooks`, so a wait
 * here samples when a sample is due and a control message can roll the run back.
 */
import { randomUUID } from "node:crypto";
import { DBOS } from "@dbos-inc/dbos-sdk";
import type { PlanStep } from "../runbook/plan/types.js";
import type { Sealer } from "../secrets/seal.js";
import type {
  ControlMessage,
  Durable,
  StepModule,
  StepResult,
  StepStatus,
  Transition,
} from "../steps/contract.js";
import type { NewEvent } from "../store/events.js";
import type { RunContext } from "./context.js";
import { fromRecord, maskDeep, mergeFacts, type RecordedResult, toRecord } from "./facts.js";
import { StepLedger } from "./messages.js";
import { TemplateFailed } from "./types.js";

const WAIT_CHUNK_S = 3600;
/** Crashes of the process in one step, in a row, after which the step is failed instead of run again. */
const CRASH_LIMIT = 2;

export interface DurableHooks {
  /** When the next timed thing is due (a monitoring sample, a progress message), if any (epoch ms). */
  nextDueAt(now: number): number | undefined;
  /** Does what is due at `now` (and acts on what it finds). */
  due(now: number): Promise<void>;
  notify: Durable["notify"];
  monitorUntil(at: number): Promise<{ summary: string }>;
  transition(t: Exclude<Transition, { to: "continue" }>): Promise<never>;
  control(message: ControlMessage): Promise<void>;
  rollingBack(): boolean;
}

export class RunDurable implements Durable {
  private finishedCache: Map<string, Record<string, unknown>> | undefined;
  private attemptsCache: Map<string, number> | undefined;
  /** Steps whose start an earlier process recorded: a new attempt gets a key of its own. */
  private readonly everStarted = new Set<string>();
  /** Every step's start and end as the run has seen them (messages report them). */
  readonly ledger = new StepLedger();

  constructor(
    private readonly ctx: RunContext,
    private readonly sealer: Sealer,
    private readonly hooks: DurableHooks,
  ) {}

  get rollingBack(): boolean {
    return this.hooks.rollingBack();
  }

  now(): Promise<number> {
    return DBOS.now();
  }

  /** A recorded value (a monitoring sample): computed once, returned from the record on replay. */
  record<T>(name: string, body: () => Promise<T>): Promise<T> {
    return DBOS.runStep(body, { name });
  }

  /** A recorded part of a step; its facts (captures sealed where recorded) join the run's. */
  async act(name: string, body: () => Promise<StepResult>): Promise<StepResult> {
    const recorded = await DBOS.runStep(async () => toRecord(await this.guard(body), this.sealer), { name });
    const r = fromRecord(recorded, this.sealer);
    mergeFacts(this.ctx.facts, r.facts);
    // A measured part (a checkpoint's named check) is a check result messages can show.
    if (r.data?.phase !== undefined) this.ledger.end(name, r.ok ? "passed" : "failed", r.message, r.data);
    return r;
  }

  notify: Durable["notify"] = (event, occurrence, moment, send) =>
    this.hooks.notify(event, occurrence, moment, send);

  /** Every event of the run goes through here: each string in it is masked before it is stored. */
  async event(e: NewEvent): Promise<void> {
    await this.append(e);
  }

  async started(id: string, kind: string, title: string, phase = ""): Promise<void> {
    this.ledger.start(id, kind, title, phase);
    await this.event({ key: `${id}:started`, kind: "step.started", step: id, data: { phase, kind, title } });
  }

  async finished(
    id: string,
    status: StepStatus,
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    this.ledger.end(id, status, message, data);
    await this.finish(id, status, message, data);
  }

  /**
   * Runs a step of mode `act` as one recorded step, with its start and end in the log. A step
   * that finished but was not checkpointed (killed in between) is not done again; one that
   * took the process down twice in a row is failed rather than run a third time.
   */
  async tracked(phase: string, step: PlanStep, module: StepModule, checkControl = true): Promise<StepResult> {
    const recorded: RecordedResult = await DBOS.runStep(
      async () => {
        const done = (await this.finishedSteps()).get(step.id);
        if (done) {
          const { status, message, facts, ...data } = done;
          return {
            ok: status === "passed",
            message: String(message ?? ""),
            data,
            ...(facts ? { facts: facts as RecordedResult["facts"] } : {}),
            control: true,
          };
        }
        const crashes = (await this.stepAttempts()).get(step.id) ?? 0;
        if (crashes >= CRASH_LIMIT) {
          const message = `this step ended the gantry process ${crashes} times in a row without finishing (a crash, not a stop); marked failed so the run cannot crash-loop`;
          const control = await this.finish(step.id, "failed", message);
          return { ok: false, message, control };
        }
        // Durable before the step acts, so an attempt that takes the process down is counted.
        await this.append({
          key: this.everStarted.has(step.id) ? `${step.id}:started:${randomUUID()}` : `${step.id}:started`,
          kind: "step.started",
          step: step.id,
          data: { phase, kind: step.kind, title: step.title },
        });
        const r = toRecord(await this.guard(() => module.run(step as never, this.ctx)), this.sealer);
        const status = r.status ?? (r.ok ? "passed" : "failed");
        const control = await this.finish(step.id, status, r.message, {
          ...r.data,
          ...(r.facts ? { facts: r.facts } : {}),
        });
        return { ...r, control };
      },
      { name: step.id },
    );
    const r = fromRecord(recorded, this.sealer);
    mergeFacts(this.ctx.facts, r.facts);
    this.ledger.start(step.id, step.kind, step.title, phase);
    // A rollback `check:` step's result is that named check's latest (`checks.<name>` in messages).
    const check = step.kind === "rollback" && step.form === "check" ? { check: step.check } : {};
    this.ledger.end(step.id, r.status ?? (r.ok ? "passed" : "failed"), r.message, { ...r.data, ...check });
    // A control message arrived meanwhile (recorded in the step's result, so replays agree).
    if (recorded.control && checkControl) await this.checkControl();
    return r;
  }

  /** Reads a pending control message without waiting, and acts on it. */
  async checkControl(): Promise<void> {
    const msg = await this.recvControl(0);
    if (msg) await this.onControl(msg);
  }

  control(message: ControlMessage): Promise<void> {
    return this.onControl(message);
  }

  transition(t: Exclude<Transition, { to: "continue" }>): Promise<never> {
    return this.hooks.transition(t);
  }

  monitorUntil(at: number): Promise<{ summary: string }> {
    return this.hooks.monitorUntil(at);
  }

  /** Waits until `at`; takes monitoring samples as they fall due and acts on control messages. */
  async waitUntil(at: number, options: { quiet?: boolean } = {}): Promise<void> {
    if (options.quiet) {
      const now = await DBOS.now();
      if (now < at) await DBOS.sleep(at - now);
      return;
    }
    for (;;) {
      const msg = await this.until(at);
      if (msg === undefined) return;
      await this.onControl(msg);
    }
  }

  /** Waits for a control message until `deadline` (none: forever), sampling meanwhile. Undefined on timeout. */
  receive(deadline: number | undefined): Promise<ControlMessage | undefined> {
    return this.until(deadline);
  }

  /** The one wait loop: returns a control message, or undefined once `deadline` has passed. */
  private async until(deadline: number | undefined): Promise<ControlMessage | undefined> {
    for (;;) {
      const now = await DBOS.now();
      const due = this.hooks.nextDueAt(now);
      if (due !== undefined && due <= now) {
        await this.hooks.due(now);
        // Sampling slower than the interval leaves the next sample due at once: an answer or an
        // abort must still get through between samples, and the deadline still end the wait.
        const msg = await this.recvControl(0);
        if (msg) return msg;
        if (deadline !== undefined && (await DBOS.now()) >= deadline) return undefined;
        continue;
      }
      if (deadline !== undefined && now >= deadline) return undefined;
      let next = deadline ?? now + WAIT_CHUNK_S * 1000;
      if (due !== undefined) next = Math.min(next, due);
      const msg = await this.recvControl(Math.min(WAIT_CHUNK_S, Math.max(0, (next - now) / 1000)));
      if (msg) return msg;
    }
  }

  /** Receives one control message (durably), recording it in the log. */
  private async recvControl(seconds: number): Promise<ControlMessage | undefined> {
    const msg = await DBOS.recv<ControlMessage>("control", seconds);
    if (!msg) return undefined;
    await this.event({ key: `control:${msg.id}`, kind: "decision", data: { ...msg } });
    return msg;
  }

  /** A module's body; what it throws is its failure, said plainly. */
  private async guard(body: () => Promise<StepResult>): Promise<StepResult> {
    let r: StepResult;
    try {
      r = await body();
    } catch (e) {
      r = {
        ok: false,
        message: e instanceof TemplateFailed ? e.message : `internal error: ${(e as Error).message}`,
      };
    }
    return { ...r, message: this.ctx.redact(r.message) };
  }

  /** Records a step's end. Returns whether a control message is waiting for the run. */
  private async finish(id: string, status: StepStatus, message: string, data: Record<string, unknown> = {}) {
    const stored = await this.append({
      key: `${id}:finished`,
      kind: "step.finished",
      step: id,
      data: { status, message: this.ctx.redact(message), ...data },
    });
    return stored?.controlPending ?? false;
  }

  private append(e: NewEvent) {
    return this.ctx.store.append(this.ctx.runId, {
      ...e,
      data: maskDeep(e.data, this.ctx.redact),
    } as NewEvent);
  }

  /**
   * For each unfinished step, how many times in a row an attempt started and the process
   * ended without finishing it or stopping cleanly (a `run.interrupted` resets the count).
   */
  private async stepAttempts(): Promise<Map<string, number>> {
    if (!this.attemptsCache) {
      const events = await this.ctx.store.list(this.ctx.runId);
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
  /** A handoff is recorded wherever the run stands; every other message goes to the interpreter. */
  private async onControl(msg: ControlMessage): Promise<void> {
    if (msg.type !== "handoff") return this.hooks.control(msg);
    const data = { from: msg.from, to: msg.to, by: msg.by, note: msg.note ?? null };
    await this.event({ key: `handoff:${msg.id}`, kind: "handoff", data });
  }

  private async finishedSteps(): Promise<Map<string, Record<string, unknown>>> {
    if (!this.finishedCache) {
      const events = await this.ctx.store.list(this.ctx.runId);
      this.finishedCache = new Map(
        events.filter((e) => e.kind === "step.finished" && e.step).map((e) => [e.step!, e.data]),
      );
    }
    return this.finishedCache;
  }
}
