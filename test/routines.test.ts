/**
 * Routines end to end, in this process and through the real binary, against real parts: an
 * `http` check of a local service whose health a test switches, a `drift` check of its
 * inventory, Postgres for the record (one server for the file, GANTRY_DATABASE_URL), and a
 * Standard Webhooks receiver for the alerts. A run now alerts once per occurrence (running the
 * same occurrence again sends nothing) and says so when the routine passes again; `gantry
 * worker --routines` runs a routine on its schedule (every 2 seconds, with a seconds field) and
 * alerts once per occurrence.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type HistoryEntry, runRoutineNow } from "../src/app/routines.js";
import { loadRunbookText } from "../src/runbook/load.js";
import { migrate } from "../src/store/database.js";
import { EventStore } from "../src/store/events.js";
import { RoutineStore } from "../src/store/routines.js";
import { BIN } from "./helpers/paths.js";
import { type PostgresServer, startPostgres } from "./helpers/postgres-server.js";
import { gantryAsync as gantry } from "./helpers/run.js";
import { shownText, startSlackApi } from "./helpers/slack-api.js";
import { createDatabase } from "./helpers/sql.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// One Postgres for the file (GANTRY_DATABASE_URL), a database per test: no gantry process starts one.
let postgres: PostgresServer;
before(async () => {
  postgres = await startPostgres();
  cleanups.push(() => postgres.stop());
});

const TOKEN = "tok-never-shown-4711";
const HOOK_SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXJvdXRpbmVz";
const SLACK_TOKEN = "xoxb-routines-never-shown";

/** The service: /health answers 200, or 500 echoing the credential it was sent; /inventory lists its keys. */
async function service(): Promise<{ url: string; healthy: (on: boolean) => void }> {
  let healthy = false;
  const server = createServer((req, res) => {
    if (req.url === "/inventory") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ env: healthy ? { STRIPE_KEY: "sk_x" } : {} }));
    }
    if (healthy) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"status":"ok"}');
    }
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`down; request had ${String(req.headers.authorization)}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    healthy: (on) => {
      healthy = on;
    },
  };
}

function workspace(
  url: string,
  cron: string,
  slackApi?: string,
): { dir: string; file: string; dataDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-routines-"));
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, ".gantry");
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "runbook.yaml");
  fs.writeFileSync(
    file,
    `apiVersion: gantry/v1
metadata: { name: routines, service: shop }
secrets:
  token: env:GANTRY_TEST_TOKEN
environments:
  production:
    url: ${url}
    inventory: { url: "{{ env.url }}/inventory", keys: $.env }
checks:
  health:
    type: http
    url: "{{ env.url }}/health"
    headers: { authorization: "Bearer {{ secrets.token }}" }
drift:
  keys: [STRIPE_KEY]
notify:
  channels:
    ops: { type: webhook, url: env:GANTRY_TEST_HOOK, secret: env:GANTRY_TEST_HOOK_SECRET, retry: [] }
${slackApi ? `    eng: { type: slack, token: env:GANTRY_TEST_SLACK_TOKEN, channel: "#engineering", api: "${slackApi}", retry: [] }\n` : ""}  templates:
    short: { text: "{{ routine.name }} {{ routine.status }} at {{ routine.at }}: {{ reason }}" }
deploy: { provider: command, deploy: "true", rollback: "true" }
routines:
  - name: daily
    description: health and drift, daily
    env: production
    checks: [health, drift]
    cron: "${cron}"
    timezone: America/New_York
    alert: { to: [${slackApi ? "ops, eng" : "ops"}], onRecovery: true }
  - name: templated
    env: production
    checks: [health]
    cron: "0 8 * * mon"
    alert: { to: [ops], template: short }
`,
  );
  return { dir, file, dataDir };
}

/** The alerts the receiver accepted (verified, each webhook-id once): their type, text and occurrence. */
function alerts(
  inbox: WebhookReceiver,
): Array<{ type: string; text: string; occurrence: string; id: string }> {
  const seen = new Set<string>();
  const out: Array<{ type: string; text: string; occurrence: string; id: string }> = [];
  for (const r of inbox.requests) {
    if (!r.verified || r.status >= 300 || !r.id || seen.has(r.id)) continue;
    seen.add(r.id);
    const p = r.payload as { type: string; data: { text: string; occurrence: string } };
    out.push({ type: p.type, text: p.data.text, occurrence: p.data.occurrence, id: r.id });
  }
  return out;
}

describe("routines", { concurrency: 2 }, () => {
  it("run now: a failure alerts once per occurrence, passing again says so, each run is recorded", async () => {
    const svc = await service();
    const inbox = await startWebhookReceiver({ secret: HOOK_SECRET }, (stop) => cleanups.push(stop));
    const slack = await startSlackApi({ token: SLACK_TOKEN, channels: ["#engineering"] }, (stop) =>
      cleanups.push(stop),
    );
    const w = workspace(svc.url, "0 9 * * *", slack.url);
    const url = await createDatabase(postgres.url, "routines_now");
    // In this process (the occurrence code `gantry routines run` and the worker share), then the CLI.
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    cleanups.push(() => pool.end());
    await migrate(pool);
    const stores = { routines: new RoutineStore(pool), structures: new EventStore(pool) };
    Object.assign(process.env, {
      GANTRY_TEST_TOKEN: TOKEN,
      GANTRY_TEST_HOOK: inbox.url,
      GANTRY_TEST_HOOK_SECRET: HOOK_SECRET,
      GANTRY_TEST_SLACK_TOKEN: SLACK_TOKEN,
    });
    const source = fs.readFileSync(w.file, "utf8");
    const runbook = loadRunbookText(source, w.file).runbook!;
    const run = (name: string, at?: string) =>
      runRoutineNow({ runbook, source, file: w.file, name, ...(at ? { at: new Date(at) } : {}) }, stores);

    const failed = await run("daily", "2026-12-01T14:00:00Z");
    assert.equal(failed.run.passed, false);
    assert.equal(failed.repeated, false);
    assert.deepEqual(
      failed.run.results.map((r) => [r.name, r.phase]),
      [
        ["health", "failed"],
        ["drift", "failed"],
      ],
    );
    assert.deepEqual(
      failed.alerts.map((a) => [a.channel, a.kind, a.ok, a.sent]),
      [
        ["ops", "failure", true, true],
        ["eng", "failure", true, true],
      ],
    );
    assert.equal(slack.messages.length, 1);
    assert.match(shownText(slack.messages[0]!), /Routine daily .* failed: shop in production/);
    let got = alerts(inbox);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.type, "routine.failed");
    assert.equal(got[0]!.occurrence, "2026-12-01T14:00:00.000Z");
    assert.match(got[0]!.text, /^Routine daily \(health and drift, daily\) failed: shop in production/);
    assert.match(got[0]!.text, /• health \(http, failed\): /);
    assert.match(got[0]!.text, /• drift \(drift, failed\): .*STRIPE_KEY/);

    // The same occurrence again (a second worker, a retry by hand): its record stands, no second alert.
    const again = await run("daily", "2026-12-01T09:00:00-05:00");
    assert.equal(again.repeated, true);
    assert.equal(again.run.startedAt, failed.run.startedAt);
    assert.deepEqual(
      again.alerts.map((a) => [a.ok, a.sent]),
      [
        [true, false],
        [true, false],
      ],
    );
    assert.equal(alerts(inbox).length, 1);
    assert.equal(slack.messages.length, 1);

    svc.healthy(true);
    const passed = await run("daily", "2026-12-02T14:00:00Z");
    assert.equal(passed.run.passed, true);
    got = alerts(inbox);
    assert.equal(got.length, 2);
    assert.equal(got[1]!.type, "routine.recovered");
    assert.match(got[1]!.text, /Routine daily .* passed again: shop in production, all 2 checks passed/);
    assert.equal(slack.messages.length, 2);
    assert.match(shownText(slack.messages[1]!), /passed again/);
    // Passing after a pass says nothing.
    const quiet = await run("daily", "2026-12-03T14:00:00Z");
    assert.deepEqual(quiet.alerts, []);
    assert.equal(alerts(inbox).length, 2);

    svc.healthy(false);
    await run("templated");
    got = alerts(inbox);
    assert.equal(got.length, 3);
    assert.match(got[2]!.text, /^templated failed at \S+Z: health: /);

    // Through the binary: the exit code and the table of a failed run, the history, the next times.
    const env = { GANTRY_DATABASE_URL: url, GANTRY_TEST_SLACK_TOKEN: SLACK_TOKEN };
    const cli = await gantry(
      ["routines", "run", w.file, "daily", "--at", "2026-12-04T14:00:00Z"],
      w.dir,
      env,
    );
    assert.equal(cli.code, 4, cli.stderr + cli.stdout);
    assert.match(cli.stdout, /routine daily, occurrence 2026-12-04T14:00:00\.000Z: failed/);
    assert.match(cli.stdout, /^health\s+http\s+500\s+.*FAILED$/m);
    assert.match(cli.stdout, /^drift: .*STRIPE_KEY/m);
    assert.match(cli.stdout, /failure alert → ops: /);
    assert.match(cli.stdout, /failure alert → eng: posted to #engineering/);
    assert.equal(alerts(inbox).length, 4);

    const history = await gantry(
      ["routines", w.file, "--history", "--routine", "daily", "--json"],
      w.dir,
      env,
    );
    assert.equal(history.code, 0, history.stderr);
    const runs = JSON.parse(history.stdout) as HistoryEntry[];
    assert.deepEqual(
      runs.map((r) => [r.occurrence, r.passed, r.trigger]),
      [
        ["2026-12-04T14:00:00.000Z", false, "manual"],
        ["2026-12-03T14:00:00.000Z", true, "manual"],
        ["2026-12-02T14:00:00.000Z", true, "manual"],
        ["2026-12-01T14:00:00.000Z", false, "manual"],
      ],
    );
    assert.match(runs[0]!.results[0]!.message, /500/);
    assert.deepEqual(
      runs.map((r) => r.alerts.map((a) => `${a.kind} ${a.channel}`)),
      [["failure ops", "failure eng"], [], ["recovery ops", "recovery eng"], ["failure ops", "failure eng"]],
    );

    const list = await gantry(["routines", w.file, "--json"], w.dir, {});
    assert.equal(list.code, 0, list.stderr);
    const [daily] = JSON.parse(list.stdout) as Array<{ name: string; next: string[] }>;
    assert.equal(daily!.name, "daily");
    assert.equal(daily!.next.length, 3);
    // 09:00 in New York is 13:00 or 14:00 UTC.
    for (const t of daily!.next) assert.match(t, /T1[34]:00:00\.000Z$/);

    // The credential the failing service echoed, and the hook's secrets, never leave Gantry.
    const everything = [cli, history].map((r) => r.stdout + r.stderr);
    everything.push(JSON.stringify([failed, again, passed, quiet]));
    everything.push(...inbox.requests.map((r) => r.body), ...slack.messages.map(shownText));
    for (const text of everything) {
      for (const secret of [TOKEN, HOOK_SECRET, inbox.url, SLACK_TOKEN])
        assert.ok(!text.includes(secret), `shown: ${secret}`);
    }
  });

  it("gantry worker --routines runs a due routine on its schedule and alerts once per occurrence, across a crash", async () => {
    const svc = await service();
    const inbox = await startWebhookReceiver({ secret: HOOK_SECRET }, (stop) => cleanups.push(stop));
    const w = workspace(svc.url, "*/2 * * * * *");
    const env = {
      GANTRY_DATABASE_URL: await createDatabase(postgres.url, "routines_worker"),
      GANTRY_TEST_TOKEN: TOKEN,
      GANTRY_TEST_HOOK: inbox.url,
      GANTRY_TEST_HOOK_SECRET: HOOK_SECRET,
    };
    let log = "";
    const startWorker = () => {
      const child: ChildProcess = spawn(
        process.execPath,
        [BIN, "worker", "--routines", w.file, "--data-dir", w.dataDir],
        { cwd: w.dir, env: { ...process.env, CI: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout!.on("data", (d) => (log += d));
      child.stderr!.on("data", (d) => (log += d));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      cleanups.push(() => child.kill("SIGKILL"));
      return { child, exited };
    };
    const until = async (n: number, child: ChildProcess) => {
      const deadline = Date.now() + 30_000;
      while (alerts(inbox).length < n && Date.now() < deadline && child.exitCode === null) await sleep(100);
    };
    // A worker killed (no time to clean up), then another on the same database.
    const first = startWorker();
    await until(2, first.child);
    first.child.kill("SIGKILL");
    await first.exited;
    const killedAt = alerts(inbox).length;
    const second = startWorker();
    await until(killedAt + 2, second.child);
    second.child.kill("SIGTERM");
    await second.exited;
    const got = alerts(inbox);
    assert.ok(got.length >= killedAt + 2, `alerts: ${got.length}\n${log}`);
    assert.match(log, /keeping routines daily, templated/);
    assert.match(log, /\[routine daily\] \S+: failed \(health, drift\); failure alert → ops/);
    for (const a of got) {
      assert.equal(a.type, "routine.failed");
      // A scheduled time of `*/2 * * * * *`: an even second.
      assert.match(a.occurrence, /:[0-5][02468]\.000Z$/);
    }
    // One alert per occurrence, across the kill and the second worker; every occurrence recorded.
    const occurrences = got.map((a) => a.occurrence);
    assert.equal(new Set(occurrences).size, occurrences.length, occurrences.join(", "));
    const history = await gantry(
      ["routines", w.file, "--history", "--routine", "daily", "--json", "--data-dir", w.dataDir],
      w.dir,
      env,
    );
    assert.equal(history.code, 0, history.stderr);
    const runs = JSON.parse(history.stdout) as Array<{
      occurrence: string;
      passed: boolean;
      trigger: string;
    }>;
    for (const o of occurrences) {
      const r = runs.find((x) => x.occurrence === o);
      assert.ok(r, `no record of ${o}`);
      assert.equal(r.passed, false);
      assert.equal(r.trigger, "schedule");
    }
    // Running an occurrence the worker ran, by hand: recorded already, nothing sent again.
    const before = alerts(inbox).length;
    const repeat = await gantry(
      ["routines", "run", w.file, "daily", "--at", occurrences[0]!, "--data-dir", w.dataDir],
      w.dir,
      env,
    );
    assert.equal(repeat.code, 4, repeat.stderr + repeat.stdout);
    assert.match(repeat.stdout, /not run again/);
    assert.equal(alerts(inbox).length, before);
  });
});
