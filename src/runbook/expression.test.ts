import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCondition } from "./condition.js";
import { compare, parseComparison } from "./expression.js";

describe("parseCondition", () => {
  it("reads signal, operator and value", () => {
    const c = parseCondition("error_rate > 5%");
    assert.ok(c.ok);
    assert.equal(c.value.subject, "error_rate");
    assert.equal(c.value.op, ">");
    assert.deepEqual(c.value.operand, { kind: "number", value: 0.05, text: "5%" });
  });
  it("reads words and durations", () => {
    const words = parseCondition("readiness == not_ready");
    assert.ok(words.ok && words.value.operand.kind === "string");
    const ms = parseCondition("p95 >= 200ms");
    assert.ok(ms.ok && ms.value.operand.kind === "number" && ms.value.operand.value === 200);
  });
  it("explains what cannot be read", () => {
    const r = parseCondition("error rate above 5");
    assert.ok(!r.ok);
    assert.match(r.message, /write `<signal> <op> <value>`/);
    const w = parseCondition("readiness > not_ready");
    assert.ok(!w.ok);
    assert.match(w.message, /only be compared with == or !=/);
  });
});

describe("parseComparison and compare", () => {
  it("treats a bare value as equality", () => {
    const c = parseComparison(0);
    assert.ok(c.ok);
    assert.equal(compare(0, c.value), true);
    assert.equal(compare(1, c.value), false);
  });
  it("compares numbers and keeps missing data apart from false", () => {
    const c = parseComparison("< 80%");
    assert.ok(c.ok);
    assert.equal(compare(0.5, c.value), true);
    assert.equal(compare(0.9, c.value), false);
    assert.equal(compare(undefined, c.value), undefined);
    assert.equal(compare("0.5", c.value), undefined);
  });
});

describe("conditions with bands, baselines, and and or", () => {
  it("reads a band, keeping `between … and …` one clause", () => {
    const c = parseCondition("error_rate between 2% and 5%");
    assert.ok(c.ok);
    assert.equal(c.value.clauses.length, 1);
    const band = c.value.clauses[0]!;
    assert.ok(band.op === "between" && band.low.value === 0.02 && band.high.value === 0.05);
  });
  it("reads clauses joined by and, or by or, and refuses a mix", () => {
    const and = parseCondition("error_rate between 2% and 5% and p95 > 500ms");
    assert.ok(and.ok);
    assert.equal(and.value.join, "and");
    assert.deepEqual(
      and.value.clauses.map((c) => c.subject),
      ["error_rate", "p95"],
    );
    const or = parseCondition("readiness == not_ready or live == down");
    assert.ok(or.ok && or.value.join === "or" && or.value.clauses.length === 2);
    const mixed = parseCondition("a > 1 and b > 2 or c > 3");
    assert.ok(!mixed.ok);
    assert.match(mixed.message, /mixes `and` with `or`/);
  });
  it("reads thresholds relative to the baseline", () => {
    const x = parseCondition("p95 > 3x baseline");
    assert.ok(x.ok);
    assert.deepEqual(x.value.operand, { kind: "baseline", factor: 3, text: "3x baseline" });
    const within = parseCondition("p95 within 10% of baseline");
    assert.ok(within.ok && within.value.clauses[0]!.op === "within");
    const bad = parseCondition("p95 > three times baseline");
    assert.ok(!bad.ok);
    assert.match(bad.message, /3x baseline/);
    const upside = parseCondition("error_rate between 5% and 2%");
    assert.ok(!upside.ok);
    assert.match(upside.message, /low end 5% is above its high end 2%/);
  });
});
