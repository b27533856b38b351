import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRecord } from "./build.js";
import { HOSTILE, syntheticRun } from "./test-support.js";

const record = buildRecord(syntheticRun())!;

test("no run.created, no record", () => {
  assert.equal(buildRecord([]), undefined);
});

test("what was released where, by whom, and how it ended", () => {
  assert.equal(record.service, "shop");
  assert.equal(record.environment, "prod");
  assert.equal(record.version, "2.0.0");
  assert.equal(record.previousVersion, "1.9.0");
  assert.equal(record.sha, "0123456789abcdef0123456789abcdef01234567");
  assert.deepEqual(record.operator, { name: "ana", authenticated: true });
  assert.deepEqual(record.approvers, ["cy", "bo", "dee", "miguel"]);
  assert.equal(record.outcome, "rolled_back");
  assert.match(record.reason!, /rolled back to 1\.9\.0/);
});

test("gates, checks, smoke tests and checkpoints, with their times and the values at each checkpoint", () => {
  assert.deepEqual(
    record.gates.map((g) => [g.title, g.status, g.durationMs]),
    [
      ["test", "passed", 1000],
      ["lint", "passed", 500],
    ],
  );
  assert.deepEqual(
    record.checks.map((c) => c.id),
    ["check:disk"],
  );
  assert.deepEqual(
    record.smoke.map((s) => s.status),
    ["passed"],
  );
  const [first, second] = record.checkpoints;
  assert.equal(first!.status, "passed");
  assert.deepEqual(
    first!.values.map((v) => [v.signal, v.value]),
    [
      ["error_rate", 0.3],
      ["readiness", "ready"],
    ],
  );
  assert.equal(second!.status, "failed", "cut short by the rollback");
});

test("every decision holds every answer with its evidence", () => {
  const [go, ack] = [record.decisions[0]!, record.decisions[1]];
  assert.equal(go.step, "decision:go");
  assert.equal(go.status, "passed");
  assert.deepEqual(
    go.approvals.map((a) => [
      a.by,
      a.role,
      a.evidence?.hash.slice(0, 1),
      a.evidence?.inputs.map((i) => i.ok),
    ]),
    [
      ["bo", "leads", "a", [true]],
      ["cy", "leads", "b", [false]],
    ],
  );
  assert.equal(go.approvals[0]!.comment, HOSTILE);
  assert.deepEqual(go.rejections, [{ at: go.rejections[0]!.at, by: "cy", role: null, reason: "too early" }]);
  assert.equal(ack, undefined, "a checklist is not a decision");
  const list = record.checklists[0]!;
  assert.deepEqual(
    list.items.map((i) => [i.item, i.done?.by ?? null]),
    [
      [1, null],
      [2, "dee"],
    ],
  );
  assert.deepEqual(
    list.signoffs.map((s) => s.by),
    ["dee"],
  );
});

test("signals with their rules, verdicts, the rollback, losses, incidents and targets", () => {
  const errors = record.signals.find((s) => s.name === "error_rate")!;
  assert.equal(errors.points.length, 5);
  assert.deepEqual(
    errors.rules.map((r) => [r.name, r.threshold]),
    [["errors", 0.05]],
  );
  assert.deepEqual(
    record.verdicts.map((v) => v.state),
    ["pending", "pending", "fired"],
  );
  assert.equal(record.rollback!.to, "1.9.0");
  assert.deepEqual(
    record.rollback!.steps.map((s) => s.id),
    ["rollback:1", "rollback:schema-back"],
  );
  assert.equal(record.losses[0]!.losesData, true);
  assert.equal(record.incidents[0]!.breached[0]!.target, "ack");
  assert.deepEqual(
    record.targets.map((t) => [t.ms, t.targetMs, t.met]),
    [
      [100, null, null],
      [2000, 30_000, true],
      [2000, 900_000, true],
      [391_000, 300_000, false],
    ],
  );
});

test("messages: sent with the receiver's id, failed with the error", () => {
  assert.deepEqual(
    record.messages.map((m) => [m.channel, m.state, m.detail]),
    [
      ["slack", "sent", "1700.01"],
      ["mail", "failed", "connection refused"],
    ],
  );
});
