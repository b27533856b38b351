/**
 * A synthetic run for the reports' unit tests: gates, a decision approved on evidence and
 * rejected once, a checklist, smoke tests, monitoring that breaches, a rollback with a
 * database loss and an incident, messages sent and failed — and hostile text in the places
 * a command's output or a person's comment can reach.
 */
import type { RunEvent } from "../store/events.js";

export const HOSTILE = `<script>alert("x")</script> & ]]> | *bold* \u0007 [link](javascript:x)`;

const T0 = Date.parse("2026-03-03T10:00:00.000Z");

export function syntheticRun(): RunEvent[] {
  let seq = 0;
  const events: RunEvent[] = [];
  const ev = (ms: number, kind: string, data: Record<string, unknown> = {}, step?: string) =>
    events.push({
      seq: ++seq,
      runId: "shop-prod-2.0.0-abc123",
      key: `k${seq}`,
      at: new Date(T0 + ms).toISOString(),
      kind,
      step,
      data,
    });
  ev(0, "run.created", {
    runbook: "shop",
    service: "shop",
    environment: "prod",
    ref: "v2.0.0",
    version: "2.0.0",
    file: "runbook.yaml",
    operator: "ana",
    authenticated: true,
    queued: false,
    steps: [
      { id: "gate:test", kind: "gate", title: "test", phase: "gates" },
      { id: "gate:lint", kind: "gate", title: "lint", phase: "gates" },
      { id: "decision:go", kind: "approval", title: "decision go", phase: "gates" },
      { id: "checklist:handoff", kind: "approval", title: "checklist handoff", phase: "gates" },
      { id: "check:disk", kind: "check", title: "disk", phase: "preflight" },
      { id: "deploy", kind: "deploy", title: "deploy 2.0.0", phase: "deploy" },
      { id: "smoke:health", kind: "smoke", title: "health", phase: "smoke" },
      { id: "checkpoint:T+10s", kind: "checkpoint", title: "checkpoint T+10s", phase: "monitor" },
      { id: "checkpoint:T+60s", kind: "checkpoint", title: "checkpoint T+60s", phase: "monitor" },
    ],
  });
  ev(10, "run.started", {
    version: "2.0.0",
    previousVersion: "1.9.0",
    sha: "0123456789abcdef0123456789abcdef01234567",
  });
  ev(20, "step.started", { kind: "gate", phase: "gates", title: "test" }, "gate:test");
  ev(1020, "step.finished", { status: "passed", message: "exit 0 in 1s", durationMs: 1000 }, "gate:test");
  ev(1030, "step.started", { kind: "gate", phase: "gates", title: "lint" }, "gate:lint");
  ev(1530, "step.finished", { status: "passed", message: `exit 0 in 500 ms ${HOSTILE}` }, "gate:lint");
  ev(1600, "step.started", { kind: "approval", phase: "gates", title: "decision go" }, "decision:go");
  ev(
    1610,
    "approval.waiting",
    { what: "decision go", needed: 2, form: "decision", approvers: [{ role: "leads", count: 2 }] },
    "decision:go",
  );
  ev(2000, "decision", { type: "reject", by: "cy", step: "decision:go", reason: "too early", id: "m0" });
  ev(
    3000,
    "approval",
    {
      by: "bo",
      count: 1,
      needed: 2,
      role: "leads",
      authenticated: true,
      comment: HOSTILE,
      evidence: {
        inputs: [{ name: "disk", ok: true, value: 0.42, message: "42% used" }],
        hash: "a".repeat(64),
      },
    },
    "decision:go",
  );
  ev(
    4000,
    "approval",
    {
      by: "cy",
      count: 2,
      needed: 2,
      role: "leads",
      authenticated: true,
      evidence: {
        inputs: [{ name: "disk", ok: false, value: 0.97, message: "97% used" }],
        hash: "b".repeat(64),
      },
    },
    "decision:go",
  );
  ev(4010, "step.finished", { status: "passed", message: "approved by bo, cy" }, "decision:go");
  ev(
    4100,
    "step.started",
    { kind: "approval", phase: "gates", title: "checklist handoff" },
    "checklist:handoff",
  );
  ev(
    4110,
    "approval.waiting",
    { what: "checklist handoff", needed: 1, form: "checklist", items: ["Tag frozen", "Backups verified"] },
    "checklist:handoff",
  );
  ev(
    4200,
    "checklist.item",
    { item: 2, text: "Backups verified", by: "dee", role: "ops", comment: "id bk-1" },
    "checklist:handoff",
  );
  ev(4300, "approval", { by: "dee", count: 1, needed: 1, role: "ops" }, "checklist:handoff");
  ev(4310, "step.finished", { status: "passed", message: "approved by dee" }, "checklist:handoff");
  ev(4400, "step.started", { kind: "check", phase: "preflight", title: "disk" }, "check:disk");
  ev(4500, "step.finished", { status: "passed", message: "disk 0.42 < 0.9" }, "check:disk");
  ev(5000, "step.started", { kind: "deploy", phase: "deploy", title: "deploy 2.0.0" }, "deploy");
  ev(6000, "step.finished", { status: "passed", message: "deployed 2.0.0" }, "deploy");
  ev(6100, "step.started", { kind: "smoke", phase: "smoke", title: "health" }, "smoke:health");
  ev(6200, "step.finished", { status: "passed", message: "GET /health → 200 in 12 ms" }, "smoke:health");
  ev(
    6300,
    "step.started",
    { kind: "checkpoint", phase: "monitor", title: "checkpoint T+10s" },
    "checkpoint:T+10s",
  );
  ev(6310, "monitor.started", {
    t: new Date(T0 + 6000).toISOString(),
    endsAt: new Date(T0 + 66_000).toISOString(),
    interval: "1s",
    rules: [
      {
        name: "errors",
        when: "error_rate > 5%",
        subject: "error_rate",
        op: ">",
        threshold: 0.05,
        forMs: 2000,
        severity: "P0",
        watch: false,
      },
      {
        name: "not-ready",
        when: "readiness == not_ready",
        subject: "readiness",
        op: "==",
        threshold: "not_ready",
        forMs: 5000,
        severity: "P1",
        watch: false,
      },
    ],
  });
  const values = [0.01, 0.02, 0.2, 0.3, 0.4];
  values.forEach((v, k) => {
    const at = new Date(T0 + 7000 + k * 1000).toISOString();
    ev(7000 + k * 1000 + 5, "measurement", {
      signal: "error_rate",
      sample: k,
      phase: "successful",
      value: v,
      message: "ratio",
      at,
    });
    ev(7000 + k * 1000 + 6, "measurement", {
      signal: "readiness",
      sample: k,
      phase: k === 1 ? "error" : "successful",
      value: k === 1 ? null : "ready",
      message: "GET /ready",
      at,
    });
  });
  ev(9010, "verdict", {
    rule: "errors",
    state: "pending",
    sample: 2,
    subject: "error_rate",
    value: 0.2,
    explanation: "error_rate 0.2 > 5% for 0s of 2s (P0)",
    watch: false,
  });
  ev(10_010, "verdict", {
    rule: "errors",
    state: "pending",
    sample: 3,
    subject: "error_rate",
    value: 0.3,
    explanation: "error_rate 0.3 > 5% for 1s of 2s (P0)",
    watch: false,
  });
  ev(
    10_500,
    "step.finished",
    { status: "passed", message: "error_rate 0.3, readiness ready" },
    "checkpoint:T+10s",
  );
  ev(
    10_600,
    "step.started",
    { kind: "checkpoint", phase: "monitor", title: "checkpoint T+60s" },
    "checkpoint:T+60s",
  );
  ev(11_010, "verdict", {
    rule: "errors",
    state: "fired",
    sample: 4,
    subject: "error_rate",
    value: 0.4,
    severity: "P0",
    action: "rollback",
    watch: false,
    reason: "error_rate 0.4 > 5% for 2s (P0)",
  });
  ev(11_100, "rollback.started", {
    reason: "error_rate 0.4 > 5% for 2s (P0)",
    to: "1.9.0",
    detectedAt: new Date(T0 + 11_000).toISOString(),
    detectionLatencyMs: 100,
  });
  ev(
    11_200,
    "step.started",
    { kind: "rollback", phase: "rollback", title: "revert to last known good" },
    "rollback:1",
  );
  ev(12_000, "step.finished", { status: "passed", message: "rolled back to 1.9.0" }, "rollback:1");
  ev(
    12_100,
    "step.started",
    { kind: "rollback", phase: "rollback", title: "schema-back" },
    "rollback:schema-back",
  );
  ev(
    12_200,
    "migrations.loss",
    {
      strategy: "down",
      applied: ["0002_notes"],
      statement: "DROP TABLE notes loses 12 rows",
      losesData: true,
    },
    "rollback:schema-back",
  );
  ev(12_900, "step.finished", { status: "passed", message: "ran 1 down script" }, "rollback:schema-back");
  ev(13_000, "rollback.finished", {
    ok: true,
    problems: [],
    detectToDoneMs: 2000,
    targetMs: 30_000,
    withinTarget: true,
    detectionLatencyMs: 100,
  });
  ev(
    13_100,
    "sla.started",
    {
      incident: "INC-1",
      severity: "P0",
      ackBy: new Date(T0 + 311_000).toISOString(),
      mitigateBy: new Date(T0 + 911_000).toISOString(),
      escalation: ["sre", "vp"],
    },
    "sla:INC-1",
  );
  ev(13_110, "sla.met", { incident: "INC-1", target: "mitigate", ms: 2000 }, "sla:INC-1");
  ev(
    400_000,
    "sla.breached",
    {
      incident: "INC-1",
      severity: "P0",
      target: "ack",
      message: "P0 INC-1 not acknowledged within 5m",
      escalatedTo: "sre",
    },
    "sla:INC-1",
  );
  ev(401_000, "handoff", { from: "ana", to: "miguel", by: "ana", note: HOSTILE });
  ev(402_000, "sla.met", { incident: "INC-1", target: "ack", ms: 391_000, by: "miguel" }, "sla:INC-1");
  ev(402_100, "run.finished", {
    run: "shop-prod-2.0.0-abc123",
    outcome: "rolled_back",
    reason: "error_rate 0.4 > 5% for 2s (P0) → rolled back to 1.9.0",
    version: "2.0.0",
    previousVersion: "1.9.0",
  });
  ev(402_200, "notify.queued", {
    message: "n1",
    channel: "slack",
    event: "rollback.started",
    template: "rb",
    text: `Rolling back: ${HOSTILE}`,
    required: false,
  });
  ev(402_300, "notify.sent", {
    message: "n1",
    channel: "slack",
    event: "rollback.started",
    template: "rb",
    attempt: 1,
    id: "1700.01",
    detail: "ok",
    excerpt: "",
  });
  ev(402_400, "notify.queued", {
    message: "n2",
    channel: "mail",
    event: "rollback.started",
    template: "rb",
    text: "Rolling back",
    required: false,
  });
  ev(402_500, "notify.failed", {
    message: "n2",
    channel: "mail",
    event: "rollback.started",
    template: "rb",
    attempts: 4,
    error: "connection refused",
    required: false,
  });
  return events;
}
