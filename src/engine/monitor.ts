/**
 * Monitoring after the deploy: every signal sampled each interval from T, every rule judged on
 * every sample, whatever the run is doing meanwhile (waiting for a checkpoint, a decision, a
 * checklist or a confirmation), until the run ends or rolls back. What fires acts: a rollback,
 * or a pause for a person.
 *
 * Nothing here lives only in memory: the sample index, each sample's time and measurements
 * are recorded results, so a replay rebuilds the same evaluators and verdicts. A gap between
 * samples (the process was down, the database away, a long step) is recorded as time not
 * observed; after one, a checkpoint passes only after fresh samples covering the longest rule
 * window, and detection latency counts from the first sample that could have seen the breach.
 */
import {
  type FiredVerdict,
  formatHeld,
  formatValue,
  RuleEvaluator,
  type Verdict,
} from "../analysis/rules.js";
import type { Measurement } from "../probes/types.js";
import type { MonitorSpec, ReleasePlan } from "../runbook/plan/types.js";
import type { RollbackCause } from "../steps/contract.js";
import type { RunContext } from "./context.js";
import type { RunDurable } from "./durable.js";
import { judgedAt, ruleThreshold, signalBaselines } from "./rule-inputs.js";
import type { Alarm } from "./sla.js";

/** A sample: its slot on the interval grid from T, when its measuring ended (older records lack it), what it measured. */
interface Taken {
  at: number;
  endedAt?: number;
  measurements: Record<string, Measurement>;
}

export interface MonitorHooks {
  rollback(cause: RollbackCause): Promise<never>;
  /** Waits for a person after `reason`; sampling rests meanwhile. A fired rule's severity times the answer (slas). */
  pause(key: string, reason: string, alarm?: Alarm): Promise<void>;
  rollingBack(): boolean;
}

type Gap = { from: number; to: number };

export class Monitor {
  private k = 0;
  private started = false;
  private paused = false;
  private readonly evaluators: RuleEvaluator[];
  private readonly previous: Record<string, unknown> = {};
  private last: Record<string, Measurement> = {};
  private lastVerdicts: Verdict[] = [];
  private lastAt: number | undefined;
  private readonly gaps: Gap[] = [];
  /** Samples since the last gap, and how many a checkpoint needs after one. */
  private fresh = 0;
  private needFresh = 0;
  /** The first sample after each gap → when the gap began: the first moment a breach could have been seen. */
  private readonly afterGap = new Map<number, number>();
  private readonly interval: number;

  constructor(
    private readonly spec: MonitorSpec,
    private readonly plan: ReleasePlan,
    private readonly ctx: RunContext,
    private readonly durable: RunDurable,
    private readonly hooks: MonitorHooks,
  ) {
    this.interval = spec.interval.ms;
    this.evaluators = spec.rules.map((r) => new RuleEvaluator(r, spec.tiers));
  }

  /** Monitoring runs from the deploy's end until the run ends or rolls back; not while paused. */
  private active(): boolean {
    return this.ctx.facts.deployedAt !== undefined && !this.hooks.rollingBack() && !this.paused;
  }

  /** When the next sample is due; a late start (a replay, a long step) skips the samples it missed. */
  nextSampleAt(now: number): number | undefined {
    if (!this.active()) return undefined;
    const t = this.ctx.facts.deployedAt!;
    let at = t + this.k * this.interval;
    while (at + this.interval <= now) {
      this.k++;
      at += this.interval;
    }
    return at;
  }

  /** Whether a checkpoint must wait: an enforced rule is in breach, or too few samples since a gap. */
  holding(): boolean {
    const breach = this.lastVerdicts.some(
      (v, i) => v.state === "pending" && this.spec.rules[i]!.mode === "enforce",
    );
    return breach || this.fresh < this.needFresh;
  }

  /** Monitoring time not observed so far (ms). */
  unobservedMs(): number {
    return this.gaps.reduce((n, g) => n + (g.to - g.from), 0);
  }

  /** Each signal's latest measurement. */
  signals(): Record<string, Measurement> {
    return { ...this.last };
  }

  summary(): string {
    const parts = Object.entries(this.last).map(
      ([n, m]) => `${n} ${m.value === undefined || m.value === null ? m.phase : formatValue(m.value)}`,
    );
    const text = parts.length ? parts.join(", ") : "healthy";
    const gap = this.gaps.at(-1);
    return gap
      ? `${text}; monitoring was interrupted for ${formatHeld(gap.to - gap.from)}, passed after ${this.fresh} fresh samples`
      : text;
  }

  async begin(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const t = this.ctx.facts.deployedAt!;
    await this.durable.event({
      key: "monitor:started",
      kind: "monitor.started",
      data: {
        t: new Date(t).toISOString(),
        endsAt: new Date(t + this.plan.monitor!.endsAfterMs).toISOString(),
        interval: this.spec.interval.text,
        // What views draw: each rule's threshold and window, each checkpoint's moment.
        rules: this.spec.rules.map((r) => ({
          name: r.name,
          when: r.when.text,
          subject: r.when.subject,
          op: r.when.op,
          threshold: ruleThreshold(r, signalBaselines(this.ctx.facts)),
          ...(r.during ? { during: r.during.text } : {}),
          for: r.for.text,
          forMs: r.for.ms,
          severity: r.severity,
          watch: r.mode === "watch",
        })),
        checkpoints: this.spec.checkpoints.map((c) => ({
          name: c.at.text,
          at: new Date(t + c.at.ms).toISOString(),
        })),
      },
    });
  }

  async next(at: number): Promise<void> {
    const t = this.ctx.facts.deployedAt!;
    const cp = this.spec.checkpoints.find((c) => t + c.at.ms >= at);
    if (!cp) return;
    await this.durable.event({
      key: `checkpoint-next:${cp.at.text}`,
      kind: "checkpoint.next",
      data: { at: new Date(t + cp.at.ms).toISOString(), name: cp.at.text },
    });
  }

  /** Takes the sample that is due, records it, judges every rule and acts on what fired. */
  async sample(): Promise<void> {
    await this.begin();
    const k = this.k;
    // A sample stands for its slot on the interval grid from T, whatever its measuring took:
    // a rule's `for:` window then elapses on a sample, not up to an interval after it.
    const slot = this.ctx.facts.deployedAt! + k * this.interval;
    const taken = await this.durable.record(`sample:${k}`, () => this.take(slot));
    await this.noteGap(k, taken);
    this.fresh++;
    for (const [n, m] of Object.entries(taken.measurements)) {
      this.previous[n] = m.state;
      this.last[n] = m;
      await this.durable.event({
        key: `m:${k}:${n}`,
        kind: "measurement",
        data: {
          signal: n,
          sample: k,
          phase: m.phase,
          value: m.value ?? null,
          message: m.message,
          at: m.finishedAt,
        },
      });
    }
    const before = this.lastVerdicts;
    this.lastVerdicts = this.evaluators.map((_, i) => this.verdictFor(i, taken));
    this.k = k + 1;
    for (const [i, verdict] of this.lastVerdicts.entries()) await this.act(k, verdict, before[i]);
  }

  private async act(k: number, verdict: Verdict, before: Verdict | undefined): Promise<void> {
    const rule = this.spec.rules.find((r) => r.name === verdict.rule)!;
    // Which signal the rule judges, and whether it only watches, go with every verdict.
    const about = { subject: rule.when.subject, watch: rule.mode === "watch", sample: k };
    if (verdict.state === "ok") {
      if (before && before.state !== "ok")
        await this.durable.event({
          key: `v:${k}:${verdict.rule}`,
          kind: "verdict",
          data: { ...verdict, ...about },
        });
      return;
    }
    if (verdict.state === "fired" && verdict.repeat) return;
    const data = verdict.state === "pending" ? { ...verdict, forMs: rule.for.ms } : verdict;
    await this.durable.event({ key: `v:${k}:${verdict.rule}`, kind: "verdict", data: { ...data, ...about } });
    if (verdict.state === "pending") return;
    if (verdict.state === "missing") {
      if (verdict.action === "hold") await this.pause(k, `${verdict.reason}: holding for a person`);
      return;
    }
    if (verdict.watch) return;
    if (verdict.action === "rollback") {
      const windowElapsedAt = this.firstCouldSee(verdict, rule.for.ms);
      await this.hooks.rollback({
        reason: `${rule.name}: ${verdict.reason}`,
        detectedAt: verdict.firedAt,
        windowElapsedAt,
        severity: verdict.severity,
        rule: {
          name: rule.name,
          severity: rule.severity,
          when: rule.when.text,
          value: verdict.value ?? null,
          threshold:
            rule.when.operand.kind === "number"
              ? rule.when.operand.text
              : ruleThreshold(rule, signalBaselines(this.ctx.facts)),
          for: rule.for.text,
        },
      });
    } else if (verdict.action === "pause") {
      const alarm = { severity: verdict.severity, firedAt: verdict.firedAt, rule: rule.name };
      await this.pause(k, verdict.reason, alarm);
    }
  }

  /** The rule's window counted from the first sample that could have seen the breach: a gap's start when it began right after one. */
  private firstCouldSee(v: FiredVerdict, forMs: number): number {
    if (v.cause !== "threshold") return v.windowElapsedAt;
    const gapStart = this.afterGap.get(v.windowElapsedAt - forMs);
    return gapStart === undefined ? v.windowElapsedAt : Math.min(v.windowElapsedAt, gapStart + forMs);
  }

  private async pause(k: number, reason: string, alarm?: Alarm): Promise<void> {
    this.paused = true;
    try {
      await this.hooks.pause(`pause:${k}`, reason, alarm);
    } finally {
      this.paused = false;
    }
  }

  /** A sample more than two intervals after the previous one ended leaves a gap (measuring is not one): recorded, and fresh samples are needed after it. */
  private async noteGap(k: number, taken: Taken): Promise<void> {
    const { at } = taken;
    const last = this.lastAt;
    this.lastAt = Math.max(at, taken.endedAt ?? at);
    if (last === undefined || at - last <= 2 * this.interval) return;
    const gap = { from: last + this.interval, to: at };
    this.gaps.push(gap);
    this.afterGap.set(at, gap.from);
    this.fresh = 0;
    const longest = Math.max(0, ...this.spec.rules.filter((r) => r.mode === "enforce").map((r) => r.for.ms));
    this.needFresh = Math.max(1, Math.ceil(longest / this.interval) + 1);
    await this.durable.event({
      key: `gap:${k}`,
      kind: "monitor.gap",
      data: {
        from: new Date(gap.from).toISOString(),
        to: new Date(gap.to).toISOString(),
        ms: gap.to - gap.from,
        freshNeeded: this.needFresh,
      },
    });
  }

  /** A rule's verdict on a sample (every signal, every baseline); it rests outside its `during:`. */
  private verdictFor(i: number, taken: Taken): Verdict {
    const rule = this.spec.rules[i]!;
    const evaluator = this.evaluators[i]!;
    if (!judgedAt(rule, taken.at - this.ctx.facts.deployedAt!)) return evaluator.rest();
    const baselines = signalBaselines(this.ctx.facts);
    return evaluator.observe({ at: taken.at, measurements: taken.measurements, baselines });
  }

  private async take(slot: number): Promise<Taken> {
    const signals = Object.entries(this.spec.signals);
    const measure = ([n, spec]: (typeof signals)[number]) =>
      this.ctx.measureProbe(spec, `monitor.signals.${n}`, { previous: this.previous[n] });
    const results = await Promise.all(signals.map(measure));
    const measurements = Object.fromEntries(signals.map(([n], i) => [n, results[i]!]));
    return { at: slot, endedAt: Date.now(), measurements };
  }
}
