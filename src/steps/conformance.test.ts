/**
 * The step conformance suite: every step kind and rollback form in the registry runs inside a
 * real DBOS workflow on embedded Postgres, through the engine, from a plan that holds that step
 * (and what it needs before it). A module without a case here fails the suite, so a new kind
 * cannot skip it. Each must: end as its case says, record its start before its end (once),
 * keep the secret out of every event, return only known facts, and be a recorded step when it
 * acts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DBOS } from "@dbos-inc/dbos-sdk";
import pg from "pg";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/helpers/webhook-receiver.js";
import { createdEvent } from "../app/release.js";
import { type Engine, startEngine } from "../engine/runtime.js";
import type { RunInput, RunResult } from "../engine/types.js";
import { loadRunbookText } from "../runbook/load.js";
import { plan } from "../runbook/plan/plan.js";
import type { PlanStep, ReleasePlan } from "../runbook/plan/types.js";
import type { RunFacts } from "./contract.js";
import { ROLLBACK_MODULES, STEP_MODULES } from "./registry.js";

const TOKEN = "conformance-secret-3f9a1c";
const RUNBOOK = `apiVersion: gantry/v1
metadata: { name: conformance, service: conformance }
secrets:
  token: env:CONFORMANCE_TOKEN
environments:
  test:
    url: http://127.0.0.1:9
    database:
      url: env:CONFORMANCE_DATABASE_URL
roles:
  captain: { members: [tester] }
release:
  tags: "v*"
gates:
  - name: gate
    run: echo "gate {{ secrets.token }}"
    timeout: 10s
schedule:
  - { at: T-1s, name: prep, run: "echo prep {{ secrets.token }}" }
preflight:
  - name: command
    run: echo "check {{ secrets.token }}"
  - name: probe
    check: ok
decisions:
  - name: approval
    after: preflight
    approvers: [{ role: captain }]
backup:
  run: echo backup-1
checks:
  ok:
    type: command
    run: "true"
  counted:
    type: postgres
    measure: query
    query: SELECT 1
    baseline: { tolerance: 0 }
migrations:
  dir: migrations
deploy:
  provider: command
  deploy: echo "{{ release.version }}" > version.txt
  rollback: echo "{{ release.previousVersion }}" > version.txt
  version: cat version.txt
  shift: echo "{{ canary.weight }}" > weight.txt
  timeout: 30s
  canary:
    - { weight: 50%, hold: 1s, checks: [ok] }
    - { weight: 100% }
smoke:
  - name: smoke
    type: command
    run: echo "{{ secrets.token }}"
integrity:
  - name: integrity
    query: SELECT 1
    tolerance: 0
monitor:
  interval: 1s
  checkpoints:
    - at: T+1s
      checks: [counted]
  signals:
    up: { type: command, run: "echo 1", parse: number }
  rules:
    - name: down
      when: up < 1
      for: 1s
      severity: P0
success:
  after: 2s
rollback:
  target: 1m
  steps:
    - revert: true
    - name: run
      run: echo rolled-back
    - name: check
      check: ok
    - name: wait
      wait: 1s
    - name: confirm
      confirm: The old version serves
      by: captain
    - name: schema
      migrations: down
    - name: notify
      notify: rolled
      to: [hook]
    - name: pick
      choose:
        default: slow
        options:
          - name: quick
            when: up >= 1
            steps: [{ run: echo chose quick }]
          - name: slow
            steps: [{ wait: 1s }]
notify:
  channels:
    hook: { type: webhook, url: env:CONFORMANCE_HOOK_URL, secret: env:CONFORMANCE_HOOK_SECRET }
  templates:
    rolled: { text: "Rolled back to {{ rollback.version }}: {{ reason }}" }
`;

interface Case {
  /** The plan's steps to run, by id, in order: the step under test last (or the rollback's trigger). */
  steps: string[];
  /** A rollback form's step: the run rolls back (a failing smoke test) through this step alone. */
  rollback?: string;
  /** Someone approves when the run waits. */
  approve?: boolean;
}

const STEPS: Record<string, Case> = {
  window: { steps: ["window:start"] },
  schedule: { steps: ["schedule:T-1s:1"] },
  gate: { steps: ["gate:gate"] },
  check: { steps: ["preflight:command"] },
  approval: { steps: ["decision:approval"], approve: true },
  backup: { steps: ["backup"] },
  baseline: { steps: ["baseline:integrity"] },
  migrate: { steps: ["migrate:expand"] },
  deploy: { steps: ["deploy"] },
  canary: { steps: ["deploy", "canary:1", "canary:2"] },
  smoke: { steps: ["deploy", "smoke:smoke"] },
  integrity: { steps: ["baseline:integrity", "deploy", "integrity:integrity"] },
  checkpoint: { steps: ["baseline:checks.counted", "deploy", "checkpoint:T+1s"] },
  success: { steps: ["deploy", "success"] },
};
const ROLLBACKS: Record<string, Case> = {
  revert: { steps: ["deploy"], rollback: "rollback:1" },
  run: { steps: ["deploy"], rollback: "rollback:run" },
  check: { steps: ["deploy"], rollback: "rollback:check" },
  wait: { steps: ["deploy"], rollback: "rollback:wait" },
  confirm: { steps: ["deploy"], rollback: "rollback:confirm", approve: true },
  migrations: { steps: ["migrate:expand", "deploy"], rollback: "rollback:schema" },
  notify: { steps: ["deploy"], rollback: "rollback:notify" },
  choose: { steps: ["deploy"], rollback: "rollback:pick" },
};

const FACTS: ReadonlySet<keyof RunFacts> = new Set([
  "previousVersion",
  "sha",
  "deployed",
  "deployedAt",
  "captures",
  "baselines",
  "backup",
  "expandApplied",
  "contractDone",
  "windowOverride",
]);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-steps-"));
// Postgres runs as its own user when the tests run as root: it must reach the data folder.
fs.chmodSync(dir, 0o755);
const file = path.join(dir, "runbook.yaml");
let engine: Engine;
let n = 0;
const HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
let hook: WebhookReceiver;
const stops: Array<() => unknown> = [];

before(async () => {
  fs.writeFileSync(file, RUNBOOK);
  fs.mkdirSync(path.join(dir, "migrations"));
  fs.writeFileSync(path.join(dir, "migrations/0001_notes.sql"), "CREATE TABLE notes (id int);\n");
  fs.writeFileSync(path.join(dir, "migrations/0001_notes_rollback.sql"), "DROP TABLE notes;\n");
  process.env.CONFORMANCE_TOKEN = TOKEN;
  hook = await startWebhookReceiver({ secret: HOOK_SECRET }, (stop) => stops.push(stop));
  process.env.CONFORMANCE_HOOK_URL = hook.url;
  process.env.CONFORMANCE_HOOK_SECRET = HOOK_SECRET;
  engine = await startEngine({ dataDir: path.join(dir, ".gantry"), verb: "test" });
});
after(async () => {
  await engine?.close();
  for (const stop of stops) await stop();
});

/** A plan of only `c`'s steps (and, for a rollback form, a failing smoke test and that one rollback step). */
function planFor(c: Case): ReleasePlan {
  const loaded = loadRunbookText(RUNBOOK, file);
  assert.ok(loaded.runbook, JSON.stringify(loaded.diagnostics));
  const r = plan(loaded.runbook, { env: "test", ref: "v1.0.0", at: new Date().toISOString(), file });
  assert.ok(r.ok);
  const all = r.plan.phases.flatMap((p) => p.steps);
  const steps: PlanStep[] = c.steps.map((id) => {
    const s = all.find((x) => x.id === id);
    assert.ok(s, `the conformance plan has no step ${id}`);
    return s;
  });
  if (c.rollback) {
    const smoke = all.find((s) => s.id === "smoke:smoke")!;
    if (smoke.kind !== "smoke" || smoke.probe.type !== "command")
      throw new Error("smoke:smoke is not a command smoke test");
    steps.push({ ...smoke, probe: { ...smoke.probe, run: "false" } });
  }
  const rollback = r.plan.rollback!;
  return {
    ...r.plan,
    phases: [{ name: "conformance", steps }],
    rollback: { ...rollback, steps: rollback.steps.filter((s) => s.id === c.rollback) },
  };
}

async function database(): Promise<string> {
  const name = `conformance_${++n}`;
  const c = new pg.Client({ connectionString: engine.db.url });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return engine.db.url.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
}

async function run(
  c: Case,
): Promise<{ result: RunResult; events: Awaited<ReturnType<Engine["store"]["list"]>> }> {
  process.env.CONFORMANCE_DATABASE_URL = await database();
  fs.writeFileSync(path.join(dir, "version.txt"), "0.9.0\n");
  const input: RunInput = {
    runId: `conformance-${randomUUID()}`,
    file,
    source: RUNBOOK,
    env: "test",
    ref: "v1.0.0",
    at: new Date().toISOString(),
    noCache: true,
    operator: "tester",
    plan: planFor(c),
  };
  await engine.store.append(input.runId, createdEvent(input, false));
  const handle = await engine.start(input);
  let answered = false;
  const approving = (async () => {
    while (c.approve && !answered) {
      const events = await engine.store.list(input.runId);
      if (events.some((e) => e.kind === "run.finished")) return;
      const waiting = events.find((e) => e.kind === "approval.waiting");
      if (waiting) {
        const role = (waiting.data.approvers as Array<{ role: string }> | undefined)?.[0]?.role;
        await DBOS.send(
          input.runId,
          { type: "approve", by: "tester", id: randomUUID(), ...(role ? { role } : {}) },
          "control",
        );
        answered = true;
      }
      await sleep(100);
    }
  })();
  const result = await handle.result();
  await approving;
  await engine.deliveries(input.runId, 30_000);
  return { result, events: await engine.store.list(input.runId) };
}

async function conforms(id: string, c: Case, outcome: string, act: boolean) {
  const { result, events } = await run(c);
  assert.equal(result.outcome, outcome, result.reason);
  const started = events.filter((e) => e.kind === "step.started" && e.step === id);
  const finished = events.filter((e) => e.kind === "step.finished" && e.step === id);
  assert.equal(started.length, 1, `${id}: ${started.length} starts`);
  assert.equal(finished.length, 1, `${id}: ${finished.length} ends`);
  assert.ok(started[0]!.seq < finished[0]!.seq, `${id} ended before it started`);
  assert.equal(finished[0]!.data.status, "passed", String(finished[0]!.data.message));
  assert.equal(typeof finished[0]!.data.message, "string");
  for (const key of Object.keys((finished[0]!.data.facts as object | undefined) ?? {}))
    assert.ok(
      FACTS.has(key as keyof RunFacts) || key === "sealedCaptures",
      `${id} returned an unknown fact ${key}`,
    );
  assert.ok(!JSON.stringify(events).includes(TOKEN), `${id}: the secret is in the log`);
  if (act) {
    const rows = await engine.db.pool.query(
      "SELECT 1 FROM dbos.operation_outputs WHERE workflow_uuid = $1 AND function_name = $2",
      [result.run, id],
    );
    assert.equal(rows.rowCount, 1, `${id} acts but is not a recorded step`);
  }
  return events;
}

describe("step conformance: every kind in a real DBOS workflow", () => {
  it("has a case for every module in the registry", () => {
    assert.deepEqual(Object.keys(STEP_MODULES).sort(), Object.keys(STEPS).sort());
    assert.deepEqual(Object.keys(ROLLBACK_MODULES).sort(), Object.keys(ROLLBACKS).sort());
  });

  for (const [kind, c] of Object.entries(STEPS)) {
    it(`${kind}`, async () => {
      const module = STEP_MODULES[kind as keyof typeof STEP_MODULES]!;
      assert.equal(module.kind, kind);
      await conforms(c.steps.at(-1)!, c, "released", module.mode === "act");
    });
  }
  for (const [form, c] of Object.entries(ROLLBACKS)) {
    it(`rollback: ${form}`, async () => {
      const module = ROLLBACK_MODULES[form as keyof typeof ROLLBACK_MODULES]!;
      assert.equal(module.kind, "rollback");
      const told = hook.requests.length;
      const events = await conforms(c.rollback!, c, "rolled_back", module.mode === "act");
      if (form === "choose") {
        const chosen = events.filter((e) => e.kind === "rollback.chosen");
        assert.equal(chosen.length, 1);
        assert.equal(chosen[0]!.data.option, "quick", "the condition `up >= 1` held");
        assert.equal(chosen[0]!.data.by, "condition");
        const ran = events.filter((e) => e.kind === "step.finished" && e.step?.startsWith("rollback:pick:"));
        assert.deepEqual(
          ran.map((e) => [e.step, e.data.status]),
          [["rollback:pick:quick:1", "passed"]],
        );
      }
      if (form === "notify") {
        const got = hook.requests.slice(told);
        assert.equal(got.length, 1, "the notify step told its channel once");
        assert.ok(got[0]!.verified, got[0]!.error);
        assert.match(JSON.stringify(got[0]!.payload), /"text":"Rolled back to [\d.]+: smoke smoke failed/);
      }
    });
  }
});
