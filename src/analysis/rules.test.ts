import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Measurement, Value } from "../probes/types.js";
import { Monitor, Rule } from "../runbook/schema/monitor.js";
import { formatHeld, formatValue, RuleEvaluator, type Sample, type Tiers, type Verdict } from "./rules.js";

const DEFAULT_TIERS: Tiers = Monitor.parse({ checkpoints: ["T+15m"] }).tiers;
const T0 = 1_700_000_000_000;

function evaluator(spec: Record<string, unknown>, tiers: Tiers = DEFAULT_TIERS): RuleEvaluator {
  return new RuleEvaluator(Rule.parse(spec), tiers);
}

function measured(phase: Measurement["phase"], value?: Value, message = ""): Measurement {
  return { phase, ...(value === undefined ? {} : { value }), message, startedAt: "", finishedAt: "" };
}

/** A value at T0 + seconds. */
const v = (seconds: number, value: Value): Sample => ({
  at: T0 + seconds * 1000,
  measurement: measured("successful", value),
});
const err = (seconds: number, message = "timed out after 2s"): Sample => ({
  at: T0 + seconds * 1000,
  measurement: measured("error", undefined, message),
});
const none = (seconds: number, message = "first sample; a rate needs two"): Sample => ({
  at: T0 + seconds * 1000,
  measurement: measured("inconclusive", undefined, message),
});

function run(e: RuleEvaluator, samples: Sample[]): Verdict[] {
  return samples.map((s) => e.observe(s));
}

const states = (verdicts: Verdict[]) => verdicts.map((x) => x.state);

const ERRORS = { name: "errors", when: "error_rate > 0.05", for: "30s", severity: "P0" };

describe("RuleEvaluator thresholds", () => {
  it("fires when the condition has held for the window", () => {
    const verdicts = run(evaluator(ERRORS), [
      v(0, 0.01),
      v(10, 0.07),
      v(20, 0.08),
      v(30, 0.09),
      v(40, 0.082),
    ]);
    assert.deepEqual(states(verdicts), ["ok", "pending", "pending", "pending", "fired"]);
    const pending = verdicts[2]!;
    assert.ok(pending.state === "pending");
    assert.equal(pending.since, T0 + 10_000);
    assert.equal(pending.heldMs, 10_000);
    assert.equal(pending.explanation, "error_rate 0.08 > 0.05 for 10s of 30s (P0)");
    assert.deepEqual(verdicts[4], {
      state: "fired",
      rule: "errors",
      severity: "P0",
      action: "rollback",
      watch: false,
      cause: "threshold",
      value: 0.082,
      firedAt: T0 + 40_000,
      heldMs: 30_000,
      windowElapsedAt: T0 + 40_000,
      reason: "error_rate 0.082 > 0.05 for 30s (P0)",
    });
  });

  it("reports when the window elapsed, not when the sample arrived", () => {
    const e = evaluator({ ...ERRORS, for: "5m" });
    const verdicts = run(e, [v(0, 0.06), v(200, 0.07), v(312, 0.082)]);
    const fired = verdicts[2]!;
    assert.ok(fired.state === "fired");
    assert.equal(fired.windowElapsedAt, T0 + 300_000);
    assert.equal(fired.reason, "error_rate 0.082 > 0.05 for 5m12s (P0)");
  });

  it("a dip below the threshold resets the streak", () => {
    const verdicts = run(evaluator(ERRORS), [v(0, 0.07), v(20, 0.01), v(30, 0.07), v(50, 0.07), v(60, 0.07)]);
    assert.deepEqual(states(verdicts), ["pending", "ok", "pending", "pending", "fired"]);
    const fired = verdicts[4]!;
    assert.ok(fired.state === "fired");
    assert.equal(fired.heldMs, 30_000);
    assert.equal(fired.windowElapsedAt, T0 + 60_000);
  });

  it("for 0s fires on the first true sample", () => {
    const e = evaluator({ name: "latency", when: "p95 > 200ms", severity: "P2" });
    const [first] = run(e, [v(0, 350)]);
    assert.ok(first?.state === "fired");
    assert.equal(first.reason, "p95 350 > 200ms for 0s (P2)");
    assert.equal(first.heldMs, 0);
    assert.equal(first.windowElapsedAt, T0);
    assert.equal(first.action, "pause");
  });

  it("judges string conditions", () => {
    const e = evaluator({ name: "ready", when: "readiness == not_ready", for: "1m", severity: "P1" });
    const verdicts = run(e, [v(0, "ready"), v(30, "not_ready"), v(90, "not_ready")]);
    assert.deepEqual(states(verdicts), ["ok", "pending", "fired"]);
    assert.equal((verdicts[2] as { reason: string }).reason, "readiness not_ready == not_ready for 1m (P1)");
  });

  it("ignores the probe's own verdict: a failed measurement with a value is judged by the rule", () => {
    const e = evaluator({ ...ERRORS, for: "0s" });
    const verdict = e.observe({ at: T0, measurement: measured("failed", 0.01) });
    assert.equal(verdict.state, "ok");
    assert.equal(e.observe({ at: T0 + 1, measurement: measured("failed", 0.5) }).state, "fired");
  });
});

describe("RuleEvaluator measurement errors", () => {
  it("fires after consecutiveErrors errors in a row", () => {
    const verdicts = run(evaluator(ERRORS), [v(0, 0.01), err(10), err(20), err(30)]);
    assert.deepEqual(states(verdicts), ["ok", "ok", "ok", "fired"]);
    assert.deepEqual(verdicts[3], {
      state: "fired",
      rule: "errors",
      severity: "P0",
      action: "rollback",
      watch: false,
      cause: "errors",
      firedAt: T0 + 30_000,
      heldMs: 20_000,
      windowElapsedAt: T0 + 30_000,
      reason: "error_rate: 3 measurement errors in a row (last: timed out after 2s) (P0)",
    });
  });

  it("honours a configured consecutiveErrors", () => {
    const verdicts = run(evaluator({ ...ERRORS, consecutiveErrors: 1 }), [err(0, "")]);
    assert.equal(
      (verdicts[0] as { reason: string }).reason,
      "error_rate: 1 measurement errors in a row (P0)",
    );
  });

  it("errors interleaved with good samples do not fire", () => {
    const samples = [err(0), err(10), v(20, 0.01), err(30), err(40), none(50), err(60), err(70)];
    assert.ok(run(evaluator(ERRORS), samples).every((x) => x.state !== "fired"));
  });

  it("an error neither breaks nor completes a threshold streak", () => {
    const verdicts = run(evaluator(ERRORS), [v(0, 0.07), err(20), err(30), v(40, 0.07)]);
    assert.deepEqual(states(verdicts), ["pending", "pending", "pending", "fired"]);
    const during = verdicts[2]!;
    assert.ok(during.state === "pending");
    assert.equal(during.heldMs, 0, "held only up to the last true sample");
    assert.match(during.explanation, /not evidence \(timed out after 2s\)$/);
    assert.equal((verdicts[3] as { heldMs: number }).heldMs, 40_000);
  });
});

describe("RuleEvaluator missing data", () => {
  it("missing: fail fires", () => {
    const [verdict] = run(evaluator({ ...ERRORS, severity: "P1", missing: "fail" }), [none(0)]);
    assert.ok(verdict?.state === "fired");
    assert.equal(verdict.cause, "missing");
    assert.equal(verdict.reason, "error_rate: no data (first sample; a rate needs two) (P1)");
    assert.equal(verdict.windowElapsedAt, T0);
  });

  it("missing: hold and ignore return a missing verdict", () => {
    const hold = evaluator({ ...ERRORS, missing: "hold" }).observe(none(0));
    assert.deepEqual(hold, {
      state: "missing",
      rule: "errors",
      action: "hold",
      reason: "error_rate: no data (first sample; a rate needs two)",
    });
    const ignore = evaluator({ ...ERRORS, missing: "ignore" }).observe(none(0));
    assert.ok(ignore.state === "missing" && ignore.action === "ignore");
    assert.equal(evaluator(ERRORS).observe(none(0)).state, "missing", "hold is the default");
  });

  it("a value the condition cannot judge is missing data, never a pass", () => {
    const e = evaluator({ ...ERRORS, missing: "ignore" });
    const wrongType = e.observe(v(0, "n/a"));
    assert.ok(wrongType.state === "missing");
    assert.equal(wrongType.reason, "error_rate: no data (n/a cannot be compared with `> 0.05`)");
    const noValue = e.observe({ at: T0 + 1, measurement: measured("successful", undefined, "empty body") });
    assert.ok(noValue.state === "missing");
    assert.equal(noValue.reason, "error_rate: no data (empty body)");
  });

  it("missing data keeps an open streak", () => {
    const verdicts = run(evaluator({ ...ERRORS, missing: "ignore" }), [v(0, 0.07), none(15), v(30, 0.07)]);
    assert.deepEqual(states(verdicts), ["pending", "missing", "fired"]);
  });
});

describe("RuleEvaluator actions", () => {
  it("watch mode still fires, marked watch", () => {
    const [verdict] = run(evaluator({ ...ERRORS, for: "0s", mode: "watch" }), [v(0, 0.5)]);
    assert.ok(verdict?.state === "fired");
    assert.equal(verdict.watch, true);
    assert.equal(verdict.action, "rollback");
  });

  it("maps severity through the tiers; a tier not configured is a note", () => {
    const tiers = Monitor.parse({ checkpoints: ["T+15m"], tiers: { P0: { action: "pause" } } }).tiers;
    const fire = (severity: string) => evaluator({ ...ERRORS, for: "0s", severity }, tiers).observe(v(0, 1));
    assert.equal((fire("P0") as { action: string }).action, "pause");
    assert.equal((fire("P2") as { action: string }).action, "note");
    const defaults = ["P0", "P1", "P2", "P3"].map(
      (severity) =>
        (evaluator({ ...ERRORS, for: "0s", severity }).observe(v(0, 1)) as { action: string }).action,
    );
    assert.deepEqual(defaults, ["rollback", "rollback", "pause", "note"]);
  });
});

describe("RuleEvaluator episodes", () => {
  it("fires once per episode and re-arms after recovery", () => {
    const e = evaluator({ ...ERRORS, for: "10s" });
    const verdicts = run(e, [
      v(0, 0.1),
      v(10, 0.1),
      v(20, 0.2),
      err(30),
      none(40),
      v(50, 0.01),
      v(60, 0.1),
      v(70, 0.1),
    ]);
    assert.deepEqual(states(verdicts), [
      "pending",
      "fired",
      "fired",
      "fired",
      "fired",
      "ok",
      "pending",
      "fired",
    ]);
    const [first, again] = [verdicts[1], verdicts[2]] as Extract<Verdict, { state: "fired" }>[];
    assert.equal(first!.repeat, undefined);
    assert.deepEqual(again, { ...first, repeat: true });
    assert.equal((verdicts[7] as { firedAt: number }).firedAt, T0 + 70_000);
    assert.equal((verdicts[7] as { repeat?: true }).repeat, undefined);
  });

  it("is deterministic: the same samples give the same verdicts", () => {
    const samples = [
      v(0, 0.01),
      v(10, 0.07),
      err(20),
      none(25),
      v(40, 0.09),
      v(50, 0.01),
      err(60),
      err(70),
      err(80),
    ];
    const spec = { ...ERRORS, missing: "fail" };
    assert.deepEqual(run(evaluator(spec), samples), run(evaluator(spec), samples));
  });
});

describe("formatHeld and formatValue", () => {
  it("formats held time compactly", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [1_500, "1.5s"],
      [9_990, "9.9s"],
      [45_000, "45s"],
      [312_000, "5m12s"],
      [600_000, "10m"],
      [3_720_000, "1h2m"],
      [3_605_000, "1h"],
      [97_200_000, "1d3h"],
    ];
    for (const [ms, text] of cases) assert.equal(formatHeld(ms), text, `${ms}`);
  });

  it("formats values with up to 3 significant digits", () => {
    const cases: [Value, string][] = [
      [0.082, "0.082"],
      [0.08234, "0.0823"],
      [12.5, "12.5"],
      [12.53, "12.5"],
      [1200, "1200"],
      [1234.5, "1235"],
      [0.000123456, "0.000123"],
      ["not_ready", "not_ready"],
      [true, "true"],
      [null, "null"],
    ];
    for (const [value, text] of cases) assert.equal(formatValue(value), text, `${value}`);
  });
});

describe("RuleEvaluator with bands, baselines and joined clauses", () => {
  const at = (
    seconds: number,
    values: Record<string, Value>,
    baselines: Record<string, Value> = {},
  ): Sample => ({
    at: T0 + seconds * 1000,
    measurements: Object.fromEntries(Object.entries(values).map(([k, x]) => [k, measured("successful", x)])),
    baselines,
  });

  it("fires on a band only while the value is inside it", () => {
    const e = evaluator({
      name: "degraded",
      when: "error_rate between 2% and 5%",
      for: "10s",
      severity: "P2",
    });
    const verdicts = run(e, [
      at(0, { error_rate: 0.03 }),
      at(5, { error_rate: 0.08 }),
      at(10, { error_rate: 0.03 }),
      at(20, { error_rate: 0.04 }),
    ]);
    assert.deepEqual(states(verdicts), ["pending", "ok", "pending", "fired"]);
    assert.match((verdicts[3] as { reason: string }).reason, /error_rate 0.04 between 2% and 5% for 10s/);
  });

  it("compares with the baseline measured before the deploy, and treats a missing one as missing data", () => {
    const e = evaluator({ name: "slow", when: "p95 > 3x baseline", severity: "P1" });
    const ok = e.observe(at(0, { p95: 500 }, { p95: 200 }));
    assert.equal(ok.state, "ok");
    const fired = e.observe(at(1, { p95: 700 }, { p95: 200 }));
    assert.equal(fired.state, "fired");
    assert.match((fired as { reason: string }).reason, /p95 700 > 3x baseline \(baseline 200: > 600\)/);
    const none = evaluator({ name: "slow", when: "p95 > 3x baseline", severity: "P1" }).observe(
      at(0, { p95: 700 }),
    );
    assert.equal(none.state, "missing");
    const within = evaluator({ name: "steady", when: "rps within 10% of baseline", severity: "P3" });
    assert.equal(within.observe(at(0, { rps: 105 }, { rps: 100 })).state, "fired");
  });

  it("joins clauses with and (all true) and or (any true); missing data is never a pass", () => {
    const both = evaluator({ name: "both", when: "error_rate > 2% and p95 > 500ms", severity: "P1" });
    assert.equal(both.observe(at(0, { error_rate: 0.03, p95: 200 })).state, "ok");
    assert.equal(both.observe(at(1, { error_rate: 0.03 })).state, "missing");
    const fired = both.observe(at(2, { error_rate: 0.03, p95: 600 }));
    assert.match((fired as { reason: string }).reason, /error_rate 0.03 > 2% and p95 600 > 500ms/);
    const either = evaluator({
      name: "either",
      when: "readiness == not_ready or live == down",
      severity: "P0",
    });
    assert.equal(either.observe(at(0, { readiness: "ready", live: "up" })).state, "ok");
    assert.equal(either.observe(at(1, { readiness: "ready", live: "down" })).state, "fired");
  });
});
