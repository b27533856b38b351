import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRunbookText, parseRunbookText } from "./load.js";
import { plan } from "./plan/plan.js";
import { renderPlan } from "./plan/render.js";
import { compress, MIN_ANSWER_MS, MIN_INTERVAL_MS, MIN_SPAN_MS, onTimeline } from "./time-scale.js";

const RUNBOOK = `apiVersion: gantry/v1
kind: release
metadata: { name: shop, service: shop }
environments:
  production: &production
    url: https://shop.example.com
    metrics: { prom: { type: prometheus, url: "https://prometheus.example.com" } }
  standin:
    <<: *production
    url: http://127.0.0.1:18080
    timeScale: 240
deploy:
  provider: command
  timeout: 10m
  deploy: ./deploy.sh {{ release.version }}
  rollback: ./deploy.sh {{ release.previousVersion }}
checks:
  health: { type: http, url: "{{ env.url }}/health", timeout: 5s, samples: 5, budget: { p95: 300ms } }
monitor:
  interval: 30s
  checkpoints: [T+0, { at: T+2h, checks: [health] }]
  signals:
    errors: { type: prometheus, source: prom, query: "rate(x[5m])", range: 10m }
  rules:
    - { name: too-many-errors, when: errors > 5%, for: 10m, severity: P1 }
rollback:
  target: 15m
  steps: [{ revert: true }]
slas:
  P1: { ack: 5m, mitigate: 30m }
`;

describe("timeScale", () => {
  const loaded = loadRunbookText(RUNBOOK, "shop.yaml");
  const written = loaded.runbook!;

  it("is declared on an environment", () => assert.deepEqual(loaded.diagnostics, []));

  it("divides every span of the timeline, and leaves timeouts and latency budgets alone", () => {
    const r = onTimeline(written, "standin");
    const m = r.monitor!;
    assert.equal(m.checkpoints[1]!.at.ms, 30_000); // T+2h / 240
    assert.equal(m.checkpoints[1]!.at.text, "T+2h"); // as the team wrote it
    assert.equal(m.rules[0]!.for.ms, 2_500);
    assert.equal(m.interval.ms, MIN_INTERVAL_MS); // 30s / 240 is 125 ms: shorter than a sample takes
    assert.equal(r.slas!.P1!.ack.ms, 1_250);
    const signal = m.signals.errors as unknown as { range: { ms: number } };
    assert.equal(signal.range.ms, 2_500);
    assert.equal(r.deploy!.timeout.ms, 600_000);
    const check = r.checks.health as unknown as { timeout: { ms: number }; budget: { p95: { ms: number } } };
    assert.equal(check.timeout.ms, 5_000);
    assert.equal(check.budget.p95.ms, 300);
  });

  it("changes nothing in an environment without one, and never compresses twice", () => {
    assert.equal(onTimeline(written, "production"), written);
    const once = onTimeline(written, "standin");
    assert.equal(onTimeline(once, "standin"), once);
    assert.equal(written.monitor!.rules[0]!.for.ms, 600_000);
  });

  it("compresses the sample interval to no less than MIN_INTERVAL_MS, or the interval as written", () => {
    const every = (interval: string, factor: number) =>
      onTimeline(
        loadRunbookText(
          RUNBOOK.replace("interval: 30s", `interval: ${interval}`).replace(
            "timeScale: 240",
            `timeScale: ${factor}`,
          ),
          "shop.yaml",
        ).runbook!,
        "standin",
      ).monitor!.interval.ms;
    assert.equal(every("1h", 240), 15_000);
    assert.equal(every("1m", 2880), MIN_INTERVAL_MS);
    assert.equal(every("500ms", 240), 500);
  });

  it("gives a person at least MIN_ANSWER_MS to answer a decision or a sign-off", () => {
    const text = `${RUNBOOK}roles: { leads: { members: [ana] } }
decisions:
  - { name: go, after: deploy, approvers: [{ role: leads }], timeout: 2h }
  - { name: quick, after: deploy, approvers: [{ role: leads }], timeout: 10s }
checklists:
  - { name: handoff, after: deploy, items: [one], signoff: [{ role: leads }], timeout: 4h }
`;
    const loaded = loadRunbookText(text, "shop.yaml");
    assert.deepEqual(loaded.diagnostics, []);
    const on = onTimeline(loaded.runbook!, "standin");
    assert.equal(on.decisions[0]!.timeout!.ms, MIN_ANSWER_MS); // 2h / 240 is 30 s: no shorter
    assert.equal(on.decisions[1]!.timeout!.ms, 10_000); // shorter as written: kept as written
    assert.equal(on.checklists[0]!.timeout!.ms, 60_000); // 4h / 240
  });

  it("sends a progress message no more often than MIN_INTERVAL_MS", () => {
    const text = `${RUNBOOK}notify:
  channels: { ops: { type: webhook, url: "https://hooks.example.com/x" } }
  templates: { progress: { text: "still going" } }
  on:
    - { event: release.progress, template: progress, to: [ops], every: 15m }
    - { event: rollback.progress, template: progress, to: [ops], every: 1h }
`;
    const on = onTimeline(
      loadRunbookText(text.replace("timeScale: 240", "timeScale: 43200"), "shop.yaml").runbook!,
      "standin",
    ).notify!.on;
    assert.equal(on[0]!.every!.ms, MIN_INTERVAL_MS); // 15m / 43200 is 21 ms
    assert.equal(on[1]!.every!.ms, MIN_INTERVAL_MS);
    assert.equal(
      onTimeline(loadRunbookText(text, "shop.yaml").runbook!, "standin").notify!.on[1]!.every!.ms,
      15_000,
    );
  });

  it("keeps every non-zero span at least MIN_SPAN_MS long", () => {
    assert.equal(compress(0, 1000), 0);
    assert.equal(compress(1000, 1000), MIN_SPAN_MS);
    assert.equal(compress(-7 * 86_400_000, 1440), -420_000);
  });

  it("is in the plan, said in its text, and read the same way by the engine", () => {
    const p = plan(written, { env: "standin", ref: "v1.0.0", at: "2025-10-07T10:30:00Z", file: "shop.yaml" });
    assert.ok(p.ok);
    assert.equal(p.plan.timeScale, 240);
    assert.equal(p.plan.monitor!.endsAfterMs, 30_000);
    assert.match(renderPlan(p.plan), /Time: compressed 240×/);
    const prod = plan(written, {
      env: "production",
      ref: "v1.0.0",
      at: "2025-10-07T10:30:00Z",
      file: "shop.yaml",
    });
    assert.ok(prod.ok);
    assert.equal(prod.plan.timeScale, undefined);
    assert.equal(parseRunbookText(RUNBOOK, "standin")!.monitor!.rules[0]!.for.ms, 2_500);
  });
});
