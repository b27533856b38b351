import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRunbookText } from "./load.js";

const HEAD = `apiVersion: gantry/v1
metadata:
  name: salvage
  service: web
environments:
  production:
    url: https://app.example.com
`;
const DEPLOY = `deploy:
  provider: command
  deploy: ./deploy.sh
  rollback: ./rollback.sh
`;

const found = (text: string) =>
  loadRunbookText(text, "runbook.yaml").diagnostics.map(
    (d) => `${d.severity} ${d.line}:${d.col} ${d.path}: ${d.message}`,
  );

describe("rules on the parts the schema accepted", () => {
  it("report alongside the schema's errors", () => {
    const text = `${HEAD}${DEPLOY}checks:
  health: { type: http, url: https://app.example.com/health, timeout: soon }
preflight:
  - check: helth
`;
    assert.deepEqual(found(text), [
      "error 13:71 checks.health.timeout: bad duration `soon`: write a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 1h30m, 2d.",
      "error 15:12 preflight[0].check: unknown check `helth`; did you mean `health`?",
    ]);
  });

  it("do not report a name declared in a refused part as unknown", () => {
    const text = `${HEAD}${DEPLOY}checks:
  health: { type: http, url: 5 }
preflight:
  - check: health
`;
    assert.deepEqual(found(text), ["error 13:30 checks.health.url: expected a string, got number 5"]);
  });

  it("do not take a misspelled or missing section for an absent one", () => {
    const misspelled = `${HEAD}${DEPLOY.replace("deploy:", "deploi:")}`;
    assert.deepEqual(found(misspelled), ["error 8:1 deploi: unknown key `deploi`; did you mean `deploy`?"]);
    const missing = `${HEAD}deploy:\n  provider: command\n  rollback: ./rollback.sh\n`;
    assert.equal(found(missing).length, 1, found(missing).join("\n"));
    assert.match(found(missing)[0]!, /missing required key `deploy`/);
  });

  it("still check each written string on its own", () => {
    const text = `${HEAD}${DEPLOY}gates:
  - name: build
    run: "echo \`{{ release.version }}\`"
    timeout: soon
`;
    assert.deepEqual(found(text), [
      "error 14:10 gates[0].run: a value inside backticks cannot be quoted safely; use $( … ) instead: {{ release.version }}",
      "error 15:14 gates[0].timeout: bad duration `soon`: write a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 1h30m, 2d.",
    ]);
  });
});
