import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRunbookText } from "../load.js";

const BASE = `apiVersion: gantry/v1
metadata: { name: r, service: shop }
environments: { staging: {}, production: {} }
checks:
  health: { type: http, url: "https://example.com/health" }
notify:
  channels: { ops: { type: webhook, url: env:OPS_HOOK } }
  templates: { alert: { text: "{{ routine.name }}: {{ reason }}" } }
deploy: { provider: command, deploy: "true", rollback: "true" }
`;

function load(extra: string) {
  const result = loadRunbookText(BASE + extra, "runbook.yaml");
  return {
    runbook: result.runbook,
    problems: result.diagnostics.map((d) => `${d.path}: ${d.message}`),
  };
}

describe("routines", () => {
  it("normalizes: UTC by default, no recovery message unless asked", () => {
    const { runbook, problems } = load(`routines:
  - { name: hourly, env: production, checks: [health], cron: "0 * * * *", alert: { to: [ops] } }
`);
    assert.deepEqual(problems, []);
    const [r] = runbook!.routines;
    assert.equal(r!.timezone, "UTC");
    assert.deepEqual(r!.alert, { to: ["ops"], onRecovery: false });
  });

  it("parity and drift are checks only when the runbook declares them", () => {
    const { problems } = load(`routines:
  - { name: weekly, env: production, checks: [parity, drift], cron: "0 8 * * mon" }
`);
    assert.deepEqual(problems, [
      "routines[0].checks[0]: unknown check `parity`; declared checks: health",
      "routines[0].checks[1]: unknown check `drift`; declared checks: health",
    ]);
    const declared = load(`parity: { with: staging }
drift: {}
routines:
  - { name: weekly, env: production, checks: [parity, drift], cron: "0 8 * * mon" }
`);
    assert.deepEqual(declared.problems, []);
  });

  it("an alert template may use routine values; one that names what routines lack is an error", () => {
    const { problems } = load(`routines:
  - { name: hourly, env: production, checks: [health], cron: "@hourly", alert: { to: [ops], template: alert } }
`);
    assert.deepEqual(problems, []);
    const typo = loadRunbookText(
      BASE.replace("{{ routine.name }}", "{{ routine.nme }}"),
      "runbook.yaml",
    ).diagnostics.map((d) => d.message);
    assert.equal(typo.length, 1);
    assert.match(typo[0]!, /routine\.nme/);
  });

  it("unknown keys are errors, as everywhere in a runbook", () => {
    const { problems } = load(`routines:
  - { name: hourly, env: production, checks: [health], cron: "0 * * * *", timeZone: UTC }
`);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^routines\[0\]/);
    assert.match(problems[0]!, /timeZone/);
  });
});
