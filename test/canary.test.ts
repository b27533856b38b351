/**
 * Canary steps on local-process, end to end through the real binary: the quickstart behind
 * Gantry's weighted proxy. A healthy version goes 10% → 50% → 100% and serves alone after;
 * the defective version 2 is caught at its first step (its readiness check, measured against
 * the canary alone) and every request goes back to the stable version.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { get } from "../src/providers/test-support.js";
import { events, type Workspace, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

const CANARY: [string, string] = [
  "  timeout: 20s\n",
  "  timeout: 20s\n  canary:\n    - { weight: 10%, hold: 4s, checks: [ready] }\n    - { weight: 50%, hold: 1s, checks: [health] }\n    - { weight: 100% }\n",
];

async function release(w: Workspace, ref: string) {
  return w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json"]);
}

/** Which versions answer /health on the service's port, over `n` requests. */
async function shares(port: number, n = 100): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const answer = await get(port, "/health");
    const version = answer.status === 200 ? (JSON.parse(answer.body) as { version: string }).version : "none";
    seen[version] = (seen[version] ?? 0) + 1;
  }
  return seen;
}

describe("canary on local-process", { concurrency: 2 }, () => {
  for (const point of ["canary:2:started@300", "deploy:started@400"]) {
    it(`killed at ${point}, resumed: released, each shift done once, the canary serves alone`, async () => {
      const w = await workspace({ previous: "1.0.0", edit: [CANARY] });
      spaces.push(w);
      assert.equal((await release(w, "v1.0.0")).json?.outcome, "released");
      const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.1.0", "--json"], {
        GANTRY_FAILPOINT: point,
      });
      assert.equal(crashed.signal, "SIGKILL", `expected a kill at ${point}: ${crashed.stderr}`);
      const resumed = await w.gantry(["resume", "--json"]);
      assert.equal(resumed.json?.outcome, "released", `${resumed.stdout}\n${resumed.stderr}`);
      const entries = (await w.providerState()).deploys.filter((d) => d.version === "1.1.0");
      const ok = (action: string) => entries.filter((d) => d.action === action && d.result === "ok");
      assert.equal(ok("deploy").length, 1, JSON.stringify(entries));
      assert.deepEqual(
        ok("shift").map((d) => d.key.split(":").slice(-2).join(":")),
        ["canary:2", "canary:3"],
      );
      assert.deepEqual(await shares(w.port), { "1.1.0": 100 });
    });
  }

  it("shifts a healthy version 10% → 50% → 100%, then it serves alone", async () => {
    const w = await workspace({ previous: "1.0.0", edit: [CANARY] });
    spaces.push(w);
    const first = await release(w, "v1.0.0");
    assert.equal(first.json?.outcome, "released", `${first.stdout}\n${first.stderr}`);
    const r = await release(w, "v1.1.0");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released");
    const log = await events(w, String(r.json?.run));
    const finished = log.filter((e) => e.kind === "step.finished").map((e) => String(e.data.step ?? e.key));
    for (const step of ["deploy", "canary:1", "canary:2", "canary:3"])
      assert.ok(
        finished.some((s) => s.includes(step)),
        `${step} finished: ${finished.join(", ")}`,
      );
    const state = await w.providerState();
    assert.deepEqual(
      state.deploys.filter((d) => d.version === "1.1.0").map((d) => [d.action, d.result]),
      [
        ["deploy", "ok"],
        ["shift", "ok"],
        ["shift", "ok"],
      ],
    );
    assert.equal(state.current, "1.1.0");
    assert.deepEqual(await shares(w.port), { "1.1.0": 100 });
  });

  it("rolls a defective version back at its first step: every request on the stable version again", async () => {
    const w = await workspace({ previous: "1.0.0", edit: [CANARY] });
    spaces.push(w);
    assert.equal((await release(w, "v1.1.0")).json?.outcome, "released");
    const r = await release(w, "v2.0.0");
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    const log = await events(w, String(r.json?.run));
    const started = log.filter((e) => e.kind === "step.started").map((e) => String(e.data.step ?? e.key));
    assert.ok(!started.some((s) => s.includes("canary:2")), `no second step: ${started.join(", ")}`);
    const state = await w.providerState();
    assert.equal(state.current, "1.1.0");
    assert.deepEqual(
      state.deploys
        .filter((d) => d.key.startsWith(String(r.json?.run)))
        .map((d) => [d.action, d.version, d.result]),
      [
        ["deploy", "2.0.0", "ok"],
        ["rollback", "1.1.0", "ok"],
      ],
    );
    assert.deepEqual(await shares(w.port), { "1.1.0": 100 });
  });
});
