import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { foldRun } from "../engine/state.js";
import type { RunEvent } from "../store/events.js";
import { foldMonitor, plainLine, renderTree } from "./progress.js";

/** T, the deploy: every event below is placed at T + ms. */
const T = Date.parse("2025-01-01T10:00:00.000Z");
const iso = (ms: number) => new Date(T + ms).toISOString();

let seq = 0;
const ev = (ms: number, kind: string, data: Record<string, unknown> = {}, step?: string): RunEvent => ({
  seq: ++seq,
  runId: "r1",
  key: `k${seq}`,
  at: iso(ms),
  kind,
  step,
  data,
});

const measurement = (k: number, signal: string, phase: string, value: unknown, message = "") =>
  ev(k * 1000 + 50, "measurement", { signal, sample: k, phase, value, message, at: iso(k * 1000 + 50) });

const fired = (k: number, rule: string, reason: string, extra: Record<string, unknown> = {}) =>
  ev(k * 1000 + 60, "verdict", {
    state: "fired",
    rule,
    severity: "P0",
    action: "rollback",
    watch: false,
    cause: "threshold",
    value: 0.082,
    firedAt: T + k * 1000 + 50,
    heldMs: 3000,
    windowElapsedAt: T + k * 1000,
    reason,
    sample: k,
    ...extra,
  });

/** The pending verdict of the next engine version; `forMs` left out with `forMs: undefined`. */
const pending = (k: number, rule: string, heldMs: number, explanation: string, forMs: number | undefined) =>
  ev(k * 1000 + 60, "verdict", {
    state: "pending",
    rule,
    since: T + k * 1000 + 50 - heldMs,
    heldMs,
    value: 0.082,
    explanation,
    sample: k,
    ...(forMs === undefined ? {} : { forMs }),
  });

const steps = [
  { id: "deploy", kind: "deploy", title: "deploy 2.0.0", phase: "deploy" },
  { id: "checkpoint:T+5s", kind: "checkpoint", title: "checkpoint T+5s", phase: "monitor" },
  { id: "checkpoint:T+10s", kind: "checkpoint", title: "checkpoint T+10s", phase: "monitor" },
];

/** A run deployed at T, monitoring towards checkpoint T+5s, error_rate and readiness sampled each second. */
function monitoring(): RunEvent[] {
  return [
    ev(-3000, "run.created", {
      runbook: "qs",
      service: "qs",
      environment: "local",
      ref: "v2.0.0",
      version: "2.0.0",
      file: "runbook.yaml",
      steps,
    }),
    ev(-2900, "run.started", { previousVersion: "1.0.0" }),
    ev(-2000, "step.started", { phase: "deploy", kind: "deploy", title: "deploy 2.0.0" }, "deploy"),
    ev(-100, "step.finished", { status: "passed" }, "deploy"),
    ev(
      0,
      "step.started",
      { phase: "monitor", kind: "checkpoint", title: "checkpoint T+5s" },
      "checkpoint:T+5s",
    ),
    ev(1, "monitor.started", { t: iso(0), endsAt: iso(10_000), interval: "1s" }),
    ev(2, "checkpoint.next", { at: iso(5000), name: "T+5s" }),
  ];
}

function tree(events: RunEvent[], atMs: number): string {
  return renderTree(foldRun(events, true)!, T + atMs, [], foldMonitor(events));
}

/** The lines of the running checkpoint and the ones under it. */
function checkpointBlock(text: string): string[] {
  const lines = text.split("\n");
  const from = lines.findIndex((l) => l.includes("▶ checkpoint"));
  assert.ok(from >= 0, text);
  const to = lines.findIndex((l, i) => i > from && !l.startsWith("        "));
  return lines.slice(from, to < 0 ? undefined : to).map((l) => l.trimEnd());
}

describe("plain lines: a measurement is not a verdict", () => {
  test("a value measured shows only the value", () => {
    assert.equal(
      plainLine(measurement(3, "readiness", "successful", "not_ready")),
      "  readiness = not_ready",
    );
    assert.equal(plainLine(measurement(3, "error_rate", "successful", 0.08234)), "  error_rate = 0.0823");
  });

  test("the phase shows only when measuring did not work", () => {
    assert.equal(
      plainLine(measurement(3, "readiness", "error", null, "connection refused")),
      "  readiness: error: connection refused",
    );
    assert.equal(
      plainLine(measurement(3, "error_rate", "inconclusive", null, "no samples yet")),
      "  error_rate: inconclusive: no samples yet",
    );
    assert.equal(
      plainLine(measurement(3, "status", "failed", 503, "expected 200")),
      "  status = 503 (failed: expected 200)",
    );
    assert.equal(plainLine(measurement(3, "readiness", "error", null)), "  readiness: error");
    assert.equal(plainLine(measurement(3, "readiness", "successful", null)), "  readiness: no value");
  });

  test("a fired rule: what it found, then fired → its action", () => {
    assert.equal(
      plainLine(fired(8, "errors", "error_rate 0.082 > 0.05 for 3s (P0)")),
      "rule errors: error_rate 0.082 > 0.05 for 3s (P0) — fired → rollback",
    );
    assert.equal(
      plainLine(fired(8, "latency", "p99 812 > 500 for 3s (P2)", { watch: true })),
      "rule latency: p99 812 > 500 for 3s (P2) — fired → would rollback (watch only)",
    );
  });

  test("missing data, with what the rule does about it", () => {
    const missing = (action: string) =>
      ev(8060, "verdict", {
        state: "missing",
        rule: "queue",
        action,
        reason: "queue_depth: no data (timeout)",
        sample: 8,
      });
    assert.equal(
      plainLine(missing("hold")),
      "rule queue: queue_depth: no data (timeout) — missing data → hold",
    );
    assert.equal(
      plainLine(missing("ignore")),
      "rule queue: queue_depth: no data (timeout) — missing data (ignored)",
    );
  });

  test("pending and ok verdicts (next engine version)", () => {
    assert.equal(
      plainLine(pending(6, "errors", 2000, "error_rate 0.082 > 0.05 for 2s of 3s (P0)", 3000)),
      "rule errors: error_rate 0.082 > 0.05 (P0) — in breach 2s of 3s",
    );
    assert.equal(
      plainLine(
        pending(
          6,
          "errors",
          1500,
          "error_rate 0.082 > 0.05 for 1.5s of 3s (P0); last sample was a measurement error, not evidence (timeout)",
          3000,
        ),
      ),
      "rule errors: error_rate 0.082 > 0.05 (P0); last sample was a measurement error, not evidence (timeout) — in breach 1.5s of 3s",
    );
    // Without the rule's window: the explanation as written, and how long it has held.
    assert.equal(
      plainLine(pending(6, "errors", 2000, "error_rate 0.082 > 0.05 for 2s of 3s (P0)", undefined)),
      "rule errors: error_rate 0.082 > 0.05 for 2s of 3s (P0) — in breach for 2s",
    );
    assert.equal(
      plainLine(ev(9060, "verdict", { state: "ok", rule: "errors", sample: 9 })),
      "rule errors: ok (cleared)",
    );
  });

  test("a verdict short of fields prints no `undefined`", () => {
    for (const data of [
      {},
      { state: "pending", rule: "errors" },
      { state: "fired", rule: "errors" },
      { state: "missing", rule: "errors" },
      { state: "weird", rule: "errors" },
    ]) {
      const line = plainLine(ev(0, "verdict", data));
      assert.ok(line && !/undefined|NaN|null/.test(line), line);
    }
    assert.equal(plainLine(ev(0, "verdict", { state: "pending", rule: "errors" })), "rule errors: in breach");
    assert.equal(
      plainLine(ev(0, "verdict", { state: "fired", rule: "errors" })),
      "rule errors: fired → note",
    );
    assert.ok(!/undefined/.test(plainLine(ev(0, "measurement", {})) ?? ""));
  });
});

describe("the live tree while monitoring", () => {
  test("before the checkpoint: the countdown, and each signal's latest value", () => {
    const events = [
      ...monitoring(),
      measurement(0, "error_rate", "successful", 0.01),
      measurement(0, "readiness", "successful", "ready"),
      measurement(1, "error_rate", "successful", 0.012),
      measurement(1, "readiness", "error", null, "connection refused"),
    ];
    assert.deepEqual(checkpointBlock(tree(events, 1400)), [
      "    ▶ checkpoint T+5s                       1.4s  T+5s in 4s",
      "        error_rate = 0.012",
      "        readiness: error: connection refused",
    ]);
    // Never `in 0 ms`: under a second left rounds up.
    assert.match(checkpointBlock(tree(events, 4800))[0]!, /T\+5s in 1s$/);
  });

  test("today's log, a rule in breach past the checkpoint: no `in 0 ms`, why it is held", () => {
    const events = monitoring();
    for (let k = 0; k <= 7; k++) {
      events.push(measurement(k, "error_rate", "successful", k >= 5 ? 0.082 : 0.01));
      events.push(measurement(k, "readiness", "successful", "ready"));
    }
    const block = checkpointBlock(tree(events, 7400));
    assert.deepEqual(block, [
      "    ▶ checkpoint T+5s                       7.4s  T+5s due; sampling on while a rule is in breach",
      "        error_rate = 0.082",
      "        readiness = ready",
    ]);
    assert.ok(!tree(events, 7400).includes("0 ms"));
  });

  test("next engine: pending rules with how long of their window, beside their signal", () => {
    const events = monitoring();
    for (let k = 0; k <= 7; k++) {
      events.push(measurement(k, "error_rate", "successful", k >= 5 ? 0.082 : 0.01));
      events.push(measurement(k, "readiness", "successful", k >= 6 ? "not_ready" : "ready"));
      if (k >= 5) {
        const held = (k - 5) * 1000;
        events.push(
          pending(k, "errors", held, `error_rate 0.082 > 0.05 for ${held / 1000}s of 3s (P0)`, 3000),
        );
      }
      if (k >= 6) {
        const held = (k - 6) * 1000;
        events.push(
          pending(
            k,
            "not-ready",
            held,
            `readiness not_ready == not_ready for ${held / 1000}s of 5s (P1)`,
            5000,
          ),
        );
      }
    }
    assert.deepEqual(checkpointBlock(tree(events, 7400)), [
      "    ▶ checkpoint T+5s                       7.4s  T+5s due; sampling on while a rule is in breach",
      "        error_rate = 0.082      errors: in breach 2s of 3s",
      "        readiness = not_ready   not-ready: in breach 1s of 5s",
    ]);
    // It clears: ok, and the checkpoint no longer says it is held by it.
    events.push(
      measurement(8, "error_rate", "successful", 0.01),
      measurement(8, "readiness", "successful", "ready"),
    );
    events.push(ev(8060, "verdict", { state: "ok", rule: "errors", sample: 8 }));
    events.push(ev(8061, "verdict", { state: "ok", rule: "not-ready", sample: 8 }));
    const cleared = checkpointBlock(tree(events, 8400));
    assert.match(cleared[0]!, /T\+5s due$/);
    assert.deepEqual(cleared.slice(1), [
      "        error_rate = 0.01   errors: ok",
      "        readiness = ready   not-ready: ok",
    ]);
  });

  test("a pending verdict without its window shows how long it has held", () => {
    const events = [
      ...monitoring(),
      measurement(2, "error_rate", "successful", 0.082),
      pending(2, "errors", 1000, "error_rate 0.082 > 0.05 for 1s of 3s (P0)", undefined),
    ];
    assert.equal(
      checkpointBlock(tree(events, 2400))[1],
      "        error_rate = 0.082   errors: in breach for 1s",
    );
  });

  test("fired, watch and missing data, and a rule about no measured signal", () => {
    const events = [
      ...monitoring(),
      measurement(3, "error_rate", "successful", 0.082),
      measurement(3, "p99", "successful", 812),
      measurement(3, "queue_depth", "inconclusive", null, "timeout"),
      fired(3, "errors", "error_rate 0.082 > 0.05 for 3s (P0)", { action: "note" }),
      fired(3, "latency", "p99 812 > 500 for 3s (P2)", { watch: true }),
      ev(3062, "verdict", {
        state: "missing",
        rule: "queue",
        action: "ignore",
        reason: "queue_depth: no data (timeout)",
        sample: 3,
      }),
      ev(3063, "verdict", {
        state: "missing",
        rule: "ghost",
        action: "ignore",
        reason: "nope: no data",
        sample: 3,
      }),
    ];
    assert.deepEqual(checkpointBlock(tree(events, 3400)).slice(1), [
      "        error_rate = 0.082                   errors: fired at T+3s → note",
      "        p99 = 812                            latency: fired at T+3s → would rollback (watch only)",
      "        queue_depth: inconclusive: timeout   queue: missing data (ignored)",
      "        rule ghost: missing data (ignored)",
    ]);
  });

  test("missing data that the next complete sample did not repeat is no longer shown; fired stays", () => {
    const events = [
      ...monitoring(),
      measurement(3, "error_rate", "successful", 0.082),
      measurement(3, "queue_depth", "inconclusive", null, "timeout"),
      fired(3, "errors", "error_rate 0.082 > 0.05 for 3s (P0)", { action: "note" }),
      ev(3062, "verdict", {
        state: "missing",
        rule: "queue",
        action: "ignore",
        reason: "queue_depth: no data",
        sample: 3,
      }),
      measurement(4, "error_rate", "successful", 0.082),
      measurement(4, "queue_depth", "successful", 3),
    ];
    // Sample 4's verdicts may still be on their way: sample 3's stand.
    assert.match(tree(events, 4100), /queue: missing data/);
    events.push(
      measurement(5, "error_rate", "successful", 0.09),
      measurement(5, "queue_depth", "successful", 2),
    );
    const text = tree(events, 5100);
    assert.doesNotMatch(text, /missing data/);
    assert.match(text, /queue_depth = 2\n/);
    assert.match(text, /error_rate = 0\.09 +errors: fired at T\+3s → note/);
  });

  test("`gantry status` (no monitoring readings) and a finished run draw as before", () => {
    const events = [...monitoring(), measurement(0, "error_rate", "successful", 0.01)];
    const view = foldRun(events, true)!;
    assert.deepEqual(checkpointBlock(renderTree(view, T + 1400)), [
      "    ▶ checkpoint T+5s                       1.4s  T+5s in 4s",
    ]);
    assert.match(checkpointBlock(renderTree(view, T + 6000))[0]!, /T\+5s due$/);
    events.push(ev(2000, "run.finished", { outcome: "aborted", reason: "aborted by ana" }));
    const done = tree(events, 3000);
    assert.doesNotMatch(done, /error_rate/);
    assert.match(done, /ABORTED/);
  });

  test("a checkpoint started before its checkpoint.next shows no countdown of the previous one", () => {
    const events = [
      ...monitoring(),
      ev(5100, "step.finished", { status: "passed", message: "error_rate 0.01" }, "checkpoint:T+5s"),
      ev(5101, "step.started", { phase: "monitor", kind: "checkpoint" }, "checkpoint:T+10s"),
    ];
    // Its own elapsed time only: not the countdown to T+5s, long due.
    assert.deepEqual(
      checkpointBlock(tree(events, 5200)).map((l) => l.replace(/ +/g, " ")),
      [" ▶ checkpoint T+10s 99 ms"],
    );
    events.push(ev(5102, "checkpoint.next", { at: iso(10_000), name: "T+10s" }));
    assert.match(checkpointBlock(tree(events, 5200))[0]!, /T\+10s in 5s$/);
  });
});
