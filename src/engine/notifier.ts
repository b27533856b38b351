/**
 * Telling people, from the run's side: when an event the runbook subscribes to happens, each
 * of its messages is rendered in one recorded step (so a replay sends the same words), logged
 * (`notify.queued`), and handed to its channel's courier (courier.ts) with a durable send. The
 * run never waits for a delivery, except, at its end, for the messages marked `required`.
 *
 * Repeating events (`release.progress`, `rollback.progress`) fall due on a grid from their
 * anchor (the run's start, the rollback's start); the wait loop asks `nextDue` like it asks
 * monitoring, so an update goes out on time while the run waits, and never after it ended.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import type { Message } from "../channels/types.js";
import { rollbackActionSteps } from "../runbook/plan/specs.js";
import { type NotifyEvent, REPEATING } from "../runbook/schema/notify.js";
import type { RunContext } from "./context.js";
import { courierId, courierWorkflow, type NotifyResult, type Outgoing } from "./courier.js";
import type { RunDurable } from "./durable.js";
import { type Moment, messageValues, type RunSnapshot, statusLine } from "./messages.js";

type Subscription = NonNullable<RunContext["runbook"]["notify"]>["on"][number];

/** How long the end of a run waits for a required message's last attempt, beyond its schedule. */
const REQUIRED_MARGIN_MS = 30_000;

export class Notifier {
  private readonly started = new Set<string>();
  private readonly required: Outgoing[] = [];
  /** Per repeating subscription: the last slot sent. */
  private readonly slots = new Map<number, number>();
  private anchors: { release?: number; rollback?: number } = {};
  private ended = false;
  /** What every message says from now on (a rollback's reason and timing). */
  private context: Moment = {};

  constructor(
    private readonly ctx: RunContext,
    private readonly durable: RunDurable,
    private readonly snapshot: (now: number) => RunSnapshot,
  ) {}

  private get subscriptions(): Subscription[] {
    return this.ctx.runbook.notify?.on ?? [];
  }

  /** Whether the runbook tells anyone anything: subscriptions, or a rollback procedure's `notify:` steps. */
  get subscribed(): boolean {
    return (
      this.subscriptions.length > 0 ||
      rollbackActionSteps(this.ctx.plan.rollback?.steps ?? []).some((s) => s.form === "notify")
    );
  }

  /** Whether any subscription repeats: only then does the run keep a clock for them. */
  get repeats(): boolean {
    return this.subscriptions.some((s) => REPEATING.includes(s.event) && s.every);
  }

  /**
   * Starts a courier for every channel the runbook may tell, at the run's start: each is ready
   * (its runbook read, its channel made) by the time the first message comes.
   */
  async open(): Promise<void> {
    const channels = new Set(this.subscriptions.flatMap((s) => s.to));
    for (const s of rollbackActionSteps(this.ctx.plan.rollback?.steps ?? []))
      if (s.form === "notify") for (const c of s.to ?? []) channels.add(c);
    for (const c of channels) await this.courier(c);
  }

  /** From now on every message carries `moment` (the rollback's reason, rule and incident). */
  during(moment: Moment): void {
    this.context = moment;
  }

  /** Starts the grid of `release.progress` (at the run's start) or `rollback.progress`. */
  anchor(which: "release" | "rollback", at: number): void {
    this.anchors[which] ??= at;
  }

  /**
   * Sends `event`'s messages. `occurrence` makes their keys: the same occurrence is one set of
   * messages, however often a replay comes here. `template` sends that template instead, to
   * `to` or else the channels of `event`'s subscriptions (a rollback procedure's `notify:` step).
   */
  async emit(
    event: NotifyEvent,
    occurrence: string,
    moment: Moment = {},
    options: { template?: string; to?: string[]; only?: number } = {},
  ): Promise<void> {
    const subs = this.subscriptions
      .map((s, i) => ({ s, i }))
      .filter(({ s, i }) => s.event === event && (options.only === undefined || options.only === i));
    const targets = options.template
      ? [
          {
            template: options.template,
            to: options.to ?? [...new Set(subs.flatMap(({ s }) => s.to))],
            i: 0,
            required: false,
          },
        ]
      : subs.map(({ s, i }) => ({ template: s.template, to: s.to, i, required: s.required }));
    if (targets.every((t) => t.to.length === 0)) return;
    const rendered = await this.durable.record(`notify:${occurrence}`, async () => {
      const out: Array<Outgoing | { eventKey: string; channel: string; template: string; error: string }> =
        [];
      const run = this.snapshot(Date.now());
      for (const t of targets) {
        for (const channel of t.to) {
          const eventKey = `notify:${occurrence}:${channel}:${t.i}`;
          try {
            const message = this.render(event, eventKey, t.template, run, { ...this.context, ...moment });
            out.push({ eventKey, channel, template: t.template, required: t.required, message });
          } catch (e) {
            out.push({
              eventKey,
              channel,
              template: t.template,
              error: this.ctx.redact((e as Error).message),
            });
          }
        }
      }
      return out;
    });
    for (const m of rendered) {
      const about = { message: m.eventKey, channel: m.channel, event, template: m.template };
      if ("error" in m) {
        await this.durable.event({
          key: `${m.eventKey}:failed`,
          kind: "notify.failed",
          data: { ...about, attempts: 0, error: m.error, required: false },
        });
        continue;
      }
      await this.durable.event({
        key: `${m.eventKey}:queued`,
        kind: "notify.queued",
        data: {
          ...about,
          ...(m.message.subject ? { subject: m.message.subject } : {}),
          text: m.message.text,
          required: m.required,
        },
      });
      await this.courier(m.channel);
      await DBOS.send(courierId(this.ctx.runId, m.channel), m, "notify");
      if (m.required) this.required.push(m);
    }
  }

  /** When the next repeating message falls due, if any does now (epoch ms). */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const [i, s] of this.subscriptions.entries()) {
      const due = this.dueAt(i, s);
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  /** Sends each repeating message that is due at `now`: the latest slot only, after a gap. */
  async progress(now: number): Promise<void> {
    for (const [i, s] of this.subscriptions.entries()) {
      const due = this.dueAt(i, s);
      if (due === undefined || due > now) continue;
      const anchor = this.anchorOf(s)!;
      const slot = Math.floor((now - anchor) / s.every!.ms);
      this.slots.set(i, slot);
      // A rollback's progress says how long it has been going since the problem was detected.
      const rb = this.context.rollback;
      const moment: Moment =
        s.event === "rollback.progress" && rb
          ? { rollback: { ...rb, durationMs: (rb.durationMs ?? 0) + (now - anchor) } }
          : {};
      await this.emit(s.event, `${s.event}:${i}:${slot}`, moment, { only: i });
    }
  }

  /** Between steps: sends the progress messages due now (waits send theirs as they fall due). */
  async tick(): Promise<void> {
    if (!this.repeats) return;
    const now = await this.durable.now();
    const due = this.nextDue();
    if (due !== undefined && due <= now) await this.progress(now);
  }

  /**
   * The run ends with `outcome`: its last messages (`release.completed`, or `release.failed`
   * unless a rollback completed), then what `finish` reports.
   */
  async ending(outcome: string, reason: string): Promise<string[]> {
    if (outcome === "released")
      await this.emit("release.completed", "release.completed", { outcome, reason });
    else if (outcome !== "rolled_back")
      await this.emit("release.failed", "release.failed", { outcome, reason });
    return this.finish();
  }

  /**
   * The run is ending: waits for the required messages' outcomes, tells every courier that
   * nothing more comes, and returns what could not be delivered.
   */
  async finish(): Promise<string[]> {
    this.ended = true;
    const problems: string[] = [];
    if (this.required.length > 0) {
      const waiting = new Map(this.required.map((m) => [m.eventKey, m]));
      const deadline = (await this.durable.now()) + this.requiredWaitMs();
      while (waiting.size > 0) {
        const left = deadline - (await this.durable.now());
        const r = left > 0 ? await DBOS.recv<NotifyResult>("notify-result", left / 1000) : null;
        if (!r) break;
        const m = waiting.get(r.eventKey);
        if (!m) continue;
        waiting.delete(r.eventKey);
        if (!r.ok)
          problems.push(`required message ${m.template} to ${m.channel} was not delivered: ${r.error}`);
      }
      for (const m of waiting.values())
        problems.push(`required message ${m.template} to ${m.channel} was still being delivered`);
    }
    for (const channel of this.started)
      await DBOS.send(courierId(this.ctx.runId, channel), { end: true }, "notify");
    return problems;
  }

  private dueAt(i: number, s: Subscription): number | undefined {
    if (this.ended || !s.every || !REPEATING.includes(s.event)) return undefined;
    const rollingBack = this.durable.rollingBack;
    if ((s.event === "rollback.progress") !== rollingBack) return undefined;
    const anchor = this.anchorOf(s);
    if (anchor === undefined) return undefined;
    // Missed slots (the process was down, a long step) are not sent one by one: progress()
    // sends the latest.
    return anchor + ((this.slots.get(i) ?? 0) + 1) * s.every.ms;
  }

  private anchorOf(s: Subscription): number | undefined {
    return s.event === "rollback.progress" ? this.anchors.rollback : this.anchors.release;
  }

  private async courier(channel: string): Promise<void> {
    if (this.started.has(channel)) return;
    this.started.add(channel);
    const { runId, env, file, source } = this.ctx.input;
    await DBOS.startWorkflow(courierWorkflow(), { workflowID: courierId(runId, channel) })({
      runId,
      channel,
      env,
      file,
      source,
    });
  }

  private render(
    event: NotifyEvent,
    eventKey: string,
    name: string,
    run: RunSnapshot,
    moment: Moment,
  ): Message {
    const template = this.ctx.runbook.notify?.templates[name];
    if (!template) throw new Error(`no template ${name} in notify.templates`);
    const values = messageValues(this.ctx.runbook, this.ctx.templateValues(), run, moment);
    const where = `notify.templates.${name}`;
    const fill = (text: string, part: string) =>
      this.ctx.redact(this.ctx.renderWith(text, `${where}.${part}`, values));
    const redactDeep = (v: unknown): unknown => JSON.parse(this.ctx.redact(JSON.stringify(v ?? null)));
    return {
      key: `${this.ctx.runId}.${eventKey.replace(/[^A-Za-z0-9._-]/g, "_")}`,
      event,
      ...(template.subject ? { subject: fill(template.subject, "subject") } : {}),
      text: fill(template.text, "text"),
      ...(template.html ? { html: fill(template.html, "html") } : {}),
      release: {
        run: run.runId,
        service: run.service,
        environment: run.env,
        version: run.version,
        url: String((values.run as { url: string }).url),
      },
      status: this.ctx.redact(statusLine(event, run, moment)),
      at: new Date(run.now).toISOString(),
      data: redactDeep({ phase: run.phase, ...moment }) as Record<string, unknown>,
    };
  }

  /** The longest a required message's delivery can take: every attempt timing out, every wait. */
  private requiredWaitMs(): number {
    let longest = 0;
    for (const m of this.required) {
      const spec = this.ctx.runbook.notify?.channels[m.channel];
      if (!spec) continue;
      const waits = spec.retry.reduce((n, d) => n + d.ms, 0);
      longest = Math.max(longest, waits + (spec.retry.length + 1) * spec.timeout.ms);
    }
    return longest + REQUIRED_MARGIN_MS;
  }
}
