import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compare, parseComparison, parseCondition } from "./expression.js";

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
