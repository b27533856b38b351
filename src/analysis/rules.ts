/**
 * One monitoring rule, judged sample by sample: `error_rate > 0.05 for 5m, P0`.
 *
 * Pure and deterministic: no clock, no I/O. Every sample carries its own time, so a durable
 * workflow that replays the same samples gets the same verdicts. The engine feeds one
 * evaluator per rule, with only the samples of the rule's subject signal, in time order.
 *
 * Semantics, per sample:
 * - A value the condition judges true extends the streak (`since` = its first true sample);
 *   the rule fires once `at - since >= for`. `windowElapsedAt = since + for` is when the
 *   window elapsed, the reference for detection latency. A value judged false resets the
 *   streak and re-arms the rule: state ok.
 * - `error` measurements count towards `consecutiveErrors` (any other sample resets the
 *   count); reaching it fires with cause "errors". An error is not evidence either way: it
 *   neither breaks nor extends a threshold streak (a later true sample still counts from
 *   `since`), and a fire needs a true sample. Below the limit the verdict is pending while a
 *   streak is open (held up to the last true sample), else ok.
 * - `inconclusive`, no value, or a value `compare()` cannot judge is missing data, never a pass:
 *   `missing: fail` fires with cause "missing"; `hold` and `ignore` return a missing verdict.
 *   Like an error, it keeps an open streak as it is.
 * - Fires once per episode. Until a sample judges the condition false, every later sample
 *   (true, error or missing) returns the same fired verdict with `repeat: true`.
 * - Errors and missing data fire at the sample itself: `windowElapsedAt = firedAt`; heldMs is
 *   the length of the error run (0 for missing data).
 * - action = tiers[severity].action, "note" for a tier not configured; `watch` marks a rule in
 *   watch mode (the engine records what it would have done, without acting).
 */
import type { Measurement, Value } from "../probes/types.js";
import type { RuleSpec, Runbook } from "../runbook/schema/runbook.js";
import { formatHeld, formatValue } from "./format.js";
import { type Judged, judge } from "./judge.js";

export { formatHeld, formatValue };

export interface Sample {
  /** Epoch ms: when the measurement was taken. */
  at: number;
  /** Each signal's measurement; a rule on one signal may be given just its `measurement`. */
  measurements?: Record<string, Measurement>;
  measurement?: Measurement;
  /** Each signal's value measured before the deploy, for clauses relative to a baseline. */
  baselines?: Record<string, Value>;
}

export type Action = "rollback" | "pause" | "note";
export type Severity = RuleSpec["severity"];
export type Tiers = NonNullable<Runbook["monitor"]>["tiers"];

export interface FiredVerdict {
  state: "fired";
  rule: string;
  severity: Severity;
  action: Action;
  watch: boolean;
  cause: "threshold" | "errors" | "missing";
  value?: Value;
  firedAt: number;
  heldMs: number;
  windowElapsedAt: number;
  reason: string;
  /** Set on every verdict after the first of an episode: the rule already fired. */
  repeat?: true;
}

export type Verdict =
  | { state: "ok"; rule: string }
  /** The condition is true, `for` has not yet elapsed. */
  | { state: "pending"; rule: string; since: number; heldMs: number; value: Value; explanation: string }
  | FiredVerdict
  /** No data, with `missing: hold` or `missing: ignore`. */
  | { state: "missing"; rule: string; action: "hold" | "ignore"; reason: string };

export class RuleEvaluator {
  /** The open threshold streak: its first and latest true samples. */
  #streak: { since: number; lastAt: number; value: Value; described: string } | undefined;
  #errors = 0;
  #errorsSince = 0;
  /** The verdict of the current episode, once the rule has fired. */
  #fired: FiredVerdict | undefined;

  constructor(
    private readonly rule: RuleSpec,
    private readonly tiers: Tiers,
  ) {}

  observe(sample: Sample): Verdict {
    const { at } = sample;
    const measurements = sample.measurements ?? { [this.rule.when.subject]: sample.measurement };
    const judged = judge(this.rule.when, measurements, sample.baselines ?? {});
    if (judged.state === "error") return this.#error(at, judged.message);
    this.#errors = 0;
    if (judged.state === "missing") return this.#missing(at, judged);
    if (judged.state === "true") return this.#true(at, judged.value, judged.described);
    return this.rest();
  }

  /** The condition is false, or the rule is outside its `during:` part of the timeline: re-armed. */
  rest(): Verdict {
    this.#streak = undefined;
    this.#fired = undefined;
    this.#errors = 0;
    return { state: "ok", rule: this.rule.name };
  }

  #true(at: number, value: Value, described: string): Verdict {
    const since = this.#streak?.since ?? at;
    this.#streak = { since, lastAt: at, value, described };
    if (this.#fired) return { ...this.#fired, repeat: true };
    const heldMs = Math.max(0, at - since);
    if (heldMs >= this.rule.for.ms) {
      const reason = `${described} for ${formatHeld(heldMs)} (${this.rule.severity})`;
      return this.#fire("threshold", at, heldMs, since + this.rule.for.ms, reason, value);
    }
    return this.#pending("");
  }

  #error(at: number, message: string): Verdict {
    if (this.#errors === 0) this.#errorsSince = at;
    this.#errors++;
    if (this.#fired) return { ...this.#fired, repeat: true };
    if (this.#errors >= this.rule.consecutiveErrors) {
      const last = message ? ` (last: ${message})` : "";
      const reason = `${this.rule.when.subject}: ${this.#errors} measurement errors in a row${last} (${this.rule.severity})`;
      return this.#fire("errors", at, at - this.#errorsSince, at, reason);
    }
    const note = `; last sample was a measurement error, not evidence${message ? ` (${message})` : ""}`;
    return this.#streak ? this.#pending(note) : { state: "ok", rule: this.rule.name };
  }

  #missing(at: number, m: Extract<Judged, { state: "missing" }>): Verdict {
    if (this.#fired) return { ...this.#fired, repeat: true };
    const reason = m.message;
    if (this.rule.missing === "fail") {
      return this.#fire("missing", at, 0, at, `${reason} (${this.rule.severity})`, m.value);
    }
    return { state: "missing", rule: this.rule.name, action: this.rule.missing, reason };
  }

  #pending(note: string): Verdict {
    const { since, lastAt, value, described } = this.#streak!;
    const heldMs = Math.max(0, lastAt - since);
    const explanation = `${described} for ${formatHeld(heldMs)} of ${this.rule.for.text} (${this.rule.severity})${note}`;
    return { state: "pending", rule: this.rule.name, since, heldMs, value, explanation };
  }

  #fire(
    cause: FiredVerdict["cause"],
    at: number,
    heldMs: number,
    windowElapsedAt: number,
    reason: string,
    value?: Value,
  ): FiredVerdict {
    const { name, severity, mode } = this.rule;
    this.#fired = {
      state: "fired",
      rule: name,
      severity,
      action: this.tiers[severity]?.action ?? "note",
      watch: mode === "watch",
      cause,
      ...(value === undefined ? {} : { value }),
      firedAt: at,
      heldMs,
      windowElapsedAt,
      reason,
    };
    return this.#fired;
  }
}
