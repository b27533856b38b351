/**
 * The engine end to end, through the real binary, on a real embedded Postgres, with the
 * quickstart service as the deploy target: the v2 defect is caught and rolled back, a healthy
 * version is released, and runs are driven from other processes (approve, abort, Ctrl-C).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runningPort, startServer, stopServer } from "../src/store/embedded.js";
import { type Outcome, type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

async function ws(options: Parameters<typeof workspace>[0] = {}): Promise<Workspace> {
  const w = await workspace(options);
  spaces.push(w);
  return w;
}

/** Monitoring that cannot end on its own before a test has acted on the run. */
const LONG_MONITOR: [string, string] = ["checkpoints: [T+2s, T+8s]", "checkpoints: [T+120s]"];

const release = (w: Workspace, ref: string, extra: string[] = []) =>
  w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json", ...extra]);

describe("releases", { concurrency: 3 }, () => {
  it("v2: monitoring catches the defect and rolls back to v1 on its own, with the reason", async () => {
    const w = await ws({ previous: "1.0.0" });
    const r = await release(w, "v2.0.0");
    assert.equal(r.code, 5, r.stderr);
    const result = r.json!;
    assert.equal(result.outcome, "rolled_back");
    assert.equal(result.version, "2.0.0");
    assert.equal(result.previousVersion, "1.0.0");
    assert.match(
      String(result.reason),
      /^errors: error_rate \d[\d.]* > 0\.05 for \d[\dms.]* \(P0\) → rolled back to 1\.0\.0/,
    );
    assert.match(String(result.reason), /detection to rollback complete/);
    const deploys = (await w.providerState()).deploys;
    assert.deepEqual(
      deploys.map((d) => [d.action, d.version, d.result]),
      [
        ["deploy", "2.0.0", "ok"],
        ["rollback", "1.0.0", "ok"],
      ],
    );
    const log = await w.gantry(["log", String(result.run)]);
    assert.match(log.stdout, /ROLLING BACK to 1\.0\.0/);
    assert.match(log.stdout, /rule errors: error_rate/);
    const status = await w.gantry(["status", String(result.run)]);
    assert.match(status.stdout, /ROLLED_BACK/);
  });

  it("v3: a healthy version is released and becomes the last known good", async () => {
    const w = await ws({ previous: "1.0.0" });
    const r = await release(w, "v3.0.0");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.outcome, "released");
    assert.equal(r.json!.previousVersion, "1.0.0");
    assert.equal((await w.providerState()).lastKnownGood, "3.0.0");
    // The gate passed for this ref before? Not a git commit here, so no cache: it ran once.
    assert.equal(w.gateRuns(), 1);
  });

  it("approvals: a decision waits for two different people, approved from other processes", async () => {
    const w = await ws({
      previous: "1.0.0",
      edit: [
        [
          "deploy:\n",
          "roles:\n  leads:\n    members: [ana, bo]\ndecisions:\n  - name: go\n    after: gates\n    approvers:\n      - role: leads\n        count: 2\ndeploy:\n",
        ],
      ],
    });
    const child = release(w, "v3.0.0");
    const view = await waitFor(w, (v) => v.status === "waiting", undefined, child);
    const run = String(view.id);
    const first = await w.gantry(["approve", run, "--as", "ana"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /approved decision go as ana for leads .*\(1\/2\)/);
    const again = await w.gantry(["approve", run, "--as", "ana"]);
    assert.equal(again.code, 10, "the run does not accept a second approval by the same person");
    assert.match(again.stderr, /already approved/);
    await waitFor(w, (v) => (v.waiting as { approvals: string[] } | undefined)?.approvals.length === 1, run);
    assert.equal((await w.gantry(["approve", run, "--as", "bo"])).code, 0);
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.outcome, "released");
  });

  it("abort from another process stops the run and says what stays deployed", async () => {
    const w = await ws({ previous: "1.0.0", edit: [LONG_MONITOR] });
    const child = release(w, "v3.0.0");
    const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, child);
    const a = await w.gantry(["abort", String(view.id), "--reason", "wrong day"]);
    assert.equal(a.code, 0, a.stderr);
    const r = await child;
    assert.equal(r.code, 6, r.stderr);
    assert.equal(r.json!.outcome, "aborted");
    assert.match(String(r.json!.reason), /aborted by tester: wrong day; 3\.0\.0 stays deployed/);
  });

  it("Ctrl-C leaves a run that status explains and rollback finishes", async () => {
    const w = await ws({ previous: "1.0.0", edit: [LONG_MONITOR] });
    const child = w.spawn(["release", w.runbook, "--env", "local", "--ref", "v3.0.0"]);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const closed = new Promise<Outcome>((resolve) =>
      child.on("close", (code, signal) => resolve({ code, signal, stdout: "", stderr })),
    );
    const view = await waitFor(w, (v) => v.monitor !== undefined, undefined, closed);
    child.kill("SIGINT");
    assert.equal((await closed).code, 130);
    assert.match(stderr, /gantry resume/);
    const status = await w.gantry(["status", String(view.id)]);
    assert.match(status.stdout, /INTERRUPTED/);
    assert.match(status.stdout, /gantry resume/);
    const rb = await w.gantry(["rollback", String(view.id), "--reason", "saw errors", "--json"]);
    assert.equal(rb.code, 5, rb.stderr);
    assert.match(rb.stdout, /manual rollback by tester: saw errors → rolled back to 1\.0\.0/);
  });
});

describe("bad input and faults", { concurrency: 3 }, () => {
  it("environment validation runs before the deploy: a failing check stops the release, nothing deployed", async () => {
    const w = await ws({
      previous: "1.0.0",
      edit: [
        ["  local:\n", "  local:\n    validate: [disk]\n"],
        [
          "checks:\n",
          "checks:\n  disk:\n    type: command\n    run: echo 97\n    parse: number\n    expect: < 90\n",
        ],
      ],
    });
    const r = await release(w, "v3.0.0");
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json!.outcome, "failed");
    assert.match(
      String(r.json!.reason),
      /pre-flight validate disk: `echo 97` = 97, expected < 90; nothing was deployed/,
    );
    assert.equal((await w.providerState()).deploys.length, 0);
  });

  it("a gate command that does not exist fails the gate, nothing is deployed", async () => {
    const w = await ws({ edit: [["run: node --check service.mjs", "run: no-such-command-gantry"]] });
    const r = await release(w, "v1.0.0");
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.json!.outcome, "gate_failed");
    assert.match(String(r.json!.reason), /gate syntax failed: command not found: no-such-command-gantry/);
    assert.equal((await w.providerState()).deploys.length, 0);
  });

  it("secret values are masked in gate output, the log and the result", async () => {
    const secret = "s3cr3t-Value-0042";
    const w = await ws({
      edit: [
        ["release:\n", "secrets:\n  api_token: env:QS_TOKEN\nrelease:\n"],
        ["run: node --check service.mjs", 'run: echo "token={{ secrets.api_token }}" && exit 1'],
      ],
    });
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"], {
      QS_TOKEN: secret,
    });
    assert.equal(r.code, 4, r.stderr);
    const log = await w.gantry(["log", String(r.json!.run), "--json"]);
    const all = r.stdout + r.stderr + log.stdout;
    assert.ok(!all.includes(secret), "the secret leaked");
    assert.match(log.stdout, /token=•••/);
  });

  it("a deploy command that hangs times out, and there is nothing to roll back to", async () => {
    const w = await ws({
      edit: [
        [
          /deploy:\n {2}provider: local-process\n(?: {2}.*\n)+/,
          'deploy:\n  provider: command\n  deploy: sleep 30\n  rollback: "true"\n  timeout: 1s\n',
        ],
      ],
    });
    const r = await release(w, "v1.0.0");
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json!.outcome, "failed");
    assert.match(String(r.json!.reason), /deploy failed: .*timed out/);
    assert.match(String(r.json!.reason), /no earlier version is known/);
  });

  it("a service that never becomes healthy is rolled back", async () => {
    const w = await ws({
      previous: "1.0.0",
      edit: [
        [
          "start: node service.mjs",
          'start: if [ "$VERSION" = 2.0.0 ]; then sleep 60; else exec node service.mjs; fi',
        ],
        ["timeout: 20s", "timeout: 2s"],
      ],
    });
    const r = await release(w, "v2.0.0");
    assert.equal(r.code, 5, r.stderr);
    assert.match(String(r.json!.reason), /deploy failed: .*did not become healthy/);
    assert.match(String(r.json!.reason), /rolled back to 1\.0\.0/);
  });

  it("a signal endpoint that returns garbage counts as errors, never as a pass", async () => {
    const w = await ws({
      previous: "1.0.0",
      edit: [['url: "{{ env.url }}/metrics"', 'url: "{{ env.url }}/health"']],
    });
    const r = await release(w, "v3.0.0");
    assert.equal(r.code, 5, r.stderr);
    assert.match(String(r.json!.reason), /error_rate: 3 measurement errors in a row/);
  });

  it("a data folder in use gets a clear message", async () => {
    const w = await ws();
    const worker = w.spawn(["worker"]);
    let ready = "";
    await new Promise<void>((resolve) =>
      worker.stderr!.on("data", (d) => {
        ready += d;
        if (ready.includes("taking queued releases")) resolve();
      }),
    );
    const r = await release(w, "v1.0.0");
    assert.equal(r.code, 8);
    assert.match(r.stderr, /in use by gantry worker \(pid \d+/);
    assert.match(r.stderr, /--detach/);
    worker.kill("SIGTERM");
    await new Promise((resolve) => worker.on("close", resolve));
  });

  it("--detach queues a release that a worker runs", async () => {
    const w = await ws({ previous: "1.0.0" });
    const q = await release(w, "v3.0.0", ["--detach"]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.json!.outcome, "queued");
    const worker = w.spawn(["worker"]);
    const view = await waitFor(w, (v) => v.outcome !== undefined, String(q.json!.run));
    assert.equal(view.outcome, "released");
    worker.kill("SIGTERM");
    await new Promise((resolve) => worker.on("close", resolve));
  });

  it("Postgres stopping in the middle of a run: gantry waits, retries, and the run goes on", async () => {
    // Monitoring long enough that the run is still going when the test stops Postgres, however
    // slowly `gantry status` answers on a busy machine (the server stops with its last user).
    const w = await ws({
      previous: "1.0.0",
      edit: [["checkpoints: [T+2s, T+8s]", "checkpoints: [T+2s, T+30s]"]],
    });
    const child = release(w, "v3.0.0");
    await waitFor(w, (v) => v.monitor !== undefined, undefined, child);
    const pgDir = path.join(w.dataDir, "postgres");
    const port = runningPort(pgDir);
    assert.ok(port !== undefined, "the embedded Postgres is not running while the release is");
    await stopServer(pgDir);
    await sleep(2000);
    // On a machine running two test files at once, the first start can fail (the error says
    // why, from the server's log): try a few times, as an operator would.
    for (let attempt = 1; ; attempt++) {
      try {
        await startServer(pgDir, port);
        break;
      } catch (e) {
        if (attempt === 5) throw e;
        console.error(`start ${attempt} failed: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.outcome, "released");
  });
});
