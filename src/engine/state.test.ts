import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunEvent } from "../store/events.js";
import { foldRun } from "./state.js";

let seq = 0;
const ev = (kind: string, data: Record<string, unknown> = {}, step?: string): RunEvent => ({
  seq: ++seq,
  runId: "r1",
  key: `k${seq}`,
  at: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  kind,
  step,
  data,
});

const created = ev("run.created", {
  runbook: "qs",
  service: "qs",
  environment: "local",
  ref: "v2.0.0",
  version: "2.0.0",
  file: "runbook.yaml",
  steps: [
    { id: "gate:lint", kind: "gate", title: "lint", phase: "gates" },
    { id: "deploy", kind: "deploy", title: "deploy 2.0.0", phase: "deploy" },
  ],
});

test("a run with no executor and no end is interrupted, at the step it stood on", () => {
  const view = foldRun([created, ev("run.started"), ev("step.started", {}, "gate:lint")], false)!;
  assert.equal(view.status, "interrupted");
  assert.equal(view.current?.id, "gate:lint");
  assert.equal(foldRun([created, ev("run.started")], true)!.status, "running");
});

test("waiting, approvals and the end are folded from events only", () => {
  const events = [
    created,
    ev("run.started", { previousVersion: "1.0.0" }),
    ev("approval.waiting", { what: "decision go", needed: 2 }, "decision:go"),
    ev("approval", { by: "ana" }, "decision:go"),
  ];
  const waiting = foldRun(events, true)!;
  assert.equal(waiting.status, "waiting");
  assert.deepEqual(waiting.waiting?.approvals, ["ana"]);
  assert.equal(waiting.previousVersion, "1.0.0");
  const done = foldRun(
    [
      ...events,
      ev("step.started", {}, "deploy"),
      ev("rollback.started", { reason: "error_rate 0.2 > 0.05 for 5m (P0)" }),
      ev("run.finished", { outcome: "rolled_back", reason: "… → rolled back to 1.0.0" }),
    ],
    false,
  )!;
  assert.equal(done.status, "rolled_back");
  assert.equal(done.waiting, undefined);
  assert.equal(done.steps.find((s) => s.id === "deploy")?.status, "failed");
  assert.equal(done.rollback?.reason, "error_rate 0.2 > 0.05 for 5m (P0)");
});

test("a queued run stays queued until an executor starts it", () => {
  const queued = { ...created, data: { ...created.data, queued: true } };
  assert.equal(foldRun([queued], false)!.status, "queued");
  assert.equal(foldRun([queued, ev("run.started")], false)!.status, "interrupted");
});

test("a checklist still waits after a pause for a rule that came meanwhile is answered", () => {
  const events = [
    created,
    ev("run.started"),
    ev(
      "approval.waiting",
      { what: "checklist review", form: "confirm", items: ["a", "b"] },
      "checklist:review",
    ),
    ev("approval.waiting", { what: "rule errors held", form: "pause" }, "pause:3"),
  ];
  assert.equal(foldRun(events, true)!.waiting?.step, "pause:3");
  const after = foldRun(
    [
      ...events,
      ev("approval", { by: "bo" }, "pause:3"),
      ev("step.finished", { status: "passed" }, "pause:3"),
    ],
    true,
  )!;
  assert.equal(after.status, "waiting");
  assert.equal(after.waiting?.step, "checklist:review");
  assert.deepEqual(after.waiting?.approvals, []);
});
