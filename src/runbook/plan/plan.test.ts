import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { loadRunbookText } from "../load.js";
import { plan } from "./plan.js";

const RUNBOOK = `
apiVersion: gantry/v1
metadata: { name: t, service: web }
environments:
  staging: { url: https://staging.example.com }
  production: { url: https://example.com }
roles:
  captain: { members: [alice] }
gates:
  - { name: lint, run: npm run lint, parallel: true }
  - { name: test, run: npm test, parallel: true }
  - { name: build, run: npm run build }
preflight:
  - { confirm: Freeze announced, by: captain, only: [production] }
decisions:
  - { name: half-hour, after: T+30m, approvers: [{ role: captain }], only: [production] }
deploy:
  provider: command
  deploy: ./deploy.sh {{ env.name }} {{ release.version }} {{ secrets.token }}
  rollback: ./deploy.sh {{ release.previousVersion }}
secrets: { token: env:TOKEN }
monitor:
  checkpoints: [T+0, T+15m, T+30m, T+60m]
`;

const runbook = loadRunbookText(RUNBOOK, "t.yaml").runbook!;
const at = "2025-10-07T10:00:00-04:00";

describe("plan", () => {
  it("is a pure function of its inputs", () => {
    const a = plan(runbook, { env: "production", ref: "v1.0.0", at, atGiven: true, file: "t.yaml" });
    const b = plan(runbook, { env: "production", ref: "v1.0.0", at, atGiven: true, file: "t.yaml" });
    assert.deepEqual(a, b);
  });

  it("groups neighbouring parallel gates and fills in known values, never secrets", () => {
    const r = plan(runbook, { env: "production", ref: "v1.0.0", at, file: "t.yaml" });
    assert.ok(r.ok);
    const gates = r.plan.phases.find((p) => p.name === "gates")!.steps;
    assert.deepEqual(
      gates.map((s) => (s.kind === "gate" ? s.parallelGroup : "not a gate")),
      [1, 1, undefined],
    );
    const deploy = r.plan.phases.find((p) => p.name === "deploy")!.steps.find((s) => s.kind === "deploy")!;
    assert.equal(deploy.detail, "$ ./deploy.sh production 1.0.0 {{ secrets.token }}");
  });

  it("places a decision after its checkpoint, only in the environments it names", () => {
    const prod = plan(runbook, { env: "production", ref: "v1.0.0", at, file: "t.yaml" });
    assert.ok(prod.ok);
    const monitor = prod.plan.phases.find((p) => p.name === "monitor")!.steps.map((s) => s.id);
    assert.deepEqual(monitor, [
      "checkpoint:T+0",
      "checkpoint:T+15m",
      "checkpoint:T+30m",
      "decision:half-hour",
      "checkpoint:T+60m",
    ]);
    const staging = plan(runbook, { env: "staging", ref: "v1.0.0", at, file: "t.yaml" });
    assert.ok(staging.ok);
    const ids = staging.plan.phases.flatMap((p) => p.steps.map((s) => s.id));
    assert.ok(!ids.includes("decision:half-hour"));
    assert.ok(!staging.plan.phases.some((p) => p.name === "preflight"));
  });

  it("refuses an unknown environment with a suggestion", () => {
    const r = plan(runbook, { env: "prod", at, file: "t.yaml" });
    assert.deepEqual(r, { ok: false, message: "unknown environment `prod`; did you mean `production`?" });
  });

  it("is data: the plans of every seed survive the JSON round trip the stored plan takes", () => {
    const seeds = path.join(import.meta.dirname, "../../../../examples/seeds");
    for (const seed of fs
      .readdirSync(seeds, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)) {
      const file = path.join(seeds, seed, "runbook.yaml");
      const loaded = loadRunbookText(fs.readFileSync(file, "utf8"), file);
      assert.ok(loaded.runbook, `${seed} does not validate`);
      for (const env of Object.keys(loaded.runbook.environments)) {
        const r = plan(loaded.runbook, { env, ref: "v1.0.0", at, file });
        assert.ok(r.ok);
        assert.deepEqual(JSON.parse(JSON.stringify(r.plan)), r.plan, `${seed} → ${env}`);
        for (const step of r.plan.phases.flatMap((p) => p.steps))
          assert.ok(step.id && step.kind, JSON.stringify(step));
      }
    }
  });
});
