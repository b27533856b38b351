/**
 * The crash suite for the waits that involve people and time: gantry is killed with SIGKILL
 * while a worker waits for a window override, right after an approval request's reminder is
 * recorded (its page gone to an off-hours role's backup), and while an incident waits for its
 * acknowledgement. Continued by another worker or `gantry resume`, each run ends as it would
 * have without the crash: one deploy, each reminder and each page sent once, to the same
 * roles, the same deadlines.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { offHours } from "./helpers/on-call.js";
import { accepted, startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
import { events, type Workspace, waitFor, watch, workspace } from "./helpers/workspace.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const stops: Array<() => unknown> = [];
const spaces: Workspace[] = [];
const inboxes: WebhookReceiver[] = [];
before(async () => {
  for (let i = 0; i < 2; i++)
    inboxes.push(await startWebhookReceiver({ secret: SECRET }, (s) => stops.push(s)));
});
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  for (const stop of stops.reverse()) await stop();
});

const ROLES =
  "roles:\n  captain: { members: [capt] }\n  sre: { members: [sofia] }\n  manager: { members: [miguel] }\n";
/** Role pages and approval requests go to the quickstart's inbox, verbatim. */
const PAGED: [string, string] = [
  "  on:\n",
  '    paged:\n      text: "Paging {{ page.role }}: {{ reason }}"\n    asked:\n      text: "{{ reason }}"\n  on:\n    - { event: role.paged, template: paged, to: [inbox] }\n    - { event: approval.requested, template: asked, to: [inbox] }\n',
];

async function ws(edit: Array<[string | RegExp, string]>, notify = false) {
  const w = await workspace({ previous: "1.0.0", notify, edit });
  spaces.push(w);
  return w;
}

const killed = (r: { signal: NodeJS.Signals | null; code: number | null; stderr: string }, point: string) =>
  assert.equal(r.signal, "SIGKILL", `expected a kill at ${point}; got ${r.code}: ${r.stderr}`);

describe("people and time across a crash", { concurrency: 3 }, () => {
  it("a worker killed while it waits for a window override: the next worker waits again, and deploys once", async () => {
    const w = await ws([
      ["deploy:\n", `${ROLES}deploy:\n`],
      [/( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/, "$1    override: { roles: [captain] }\n"],
    ]);
    const queued = await w.gantry([
      "release",
      w.runbook,
      "--env",
      "local",
      "--ref",
      "v3.0.0",
      "--detach",
      "--json",
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const run = String(queued.json?.run);
    assert.equal((await w.gantry(["freeze", "local", "--until", "1h", "--reason", "drill"])).code, 0);

    const point = "window:start:waiting@300";
    const first = await watch(w, ["worker"], { GANTRY_FAILPOINT: point }).closed;
    killed(first, point);
    const worker = w.spawn(["worker"]);
    try {
      await waitFor(w, (v) => v.status === "waiting", run);
      assert.equal((await w.providerState()).deploys.length, 0, "deployed during a freeze");
      const ok = await w.gantry(["override", run, "--reason", "the drill's fix", "--as", "capt"]);
      assert.equal(ok.code, 0, ok.stderr);
      const done = await waitFor(w, (v) => v.outcome !== undefined, run);
      assert.equal(done.outcome, "released", JSON.stringify(done));
    } finally {
      worker.kill("SIGTERM");
    }
    const log = await events(w, run);
    assert.equal(
      log.filter((e) => e.kind === "window.closed").length,
      1,
      "the closed window was recorded twice",
    );
    assert.equal(log.filter((e) => e.kind === "approval").length, 1);
    assert.equal((await w.providerState()).deploys.filter((d) => d.action === "deploy").length, 1);
  });

  it("killed right after a reminder is recorded: it is sent once, to the same role, and the next ones keep their times", async () => {
    const inbox = inboxes[0]!;
    // sre is off hours: its backup deputy is paged in its place, before the crash and after it.
    const roles = ROLES.replace(
      "  sre: { members: [sofia] }\n",
      `  sre: { members: [sofia], backup: deputy, hours: ${offHours()} }\n  deputy: { members: [dana] }\n`,
    );
    const w = await ws(
      [
        [
          "deploy:\n",
          `${roles}decisions:\n  - name: go\n    after: gates\n    approvers: [{ role: captain }]\n    remind: 2s\n    escalation: [sre, manager]\ndeploy:\n`,
        ],
        PAGED,
      ],
      true,
    );
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const point = "decision:go:remind:1";
    const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], {
      ...env,
      GANTRY_FAILPOINT: point,
    });
    killed(crashed, point);
    const resumed = watch(w, ["resume", "--json"], env);
    for (let i = 0; i < 150 && accepted(inbox, "role.paged").length < 2; i++) await sleep(100);
    const list = (await w.gantry(["status", "--json"])).json as unknown as Array<{ run: string }>;
    const run = list[0]!.run;
    assert.equal((await w.gantry(["approve", run, "--as", "capt"])).code, 0);
    const r = await resumed.closed;
    assert.equal(r.json?.outcome, "released", r.stderr);

    const pages = accepted(inbox, "role.paged");
    assert.deepEqual(
      pages.map((t) => t.replace(/:.*/, "")),
      ["Paging deputy", "Paging manager"],
    );
    assert.match(
      pages[0]!,
      /has waited 2s without an answer; sre is off hours \(.+\); paged its backup deputy$/,
    );
    assert.match(pages[1]!, /has waited 4s without an answer$/);
    const reminders = accepted(inbox, "approval.requested").filter((t) => t.startsWith("reminder"));
    assert.deepEqual(
      reminders.slice(0, 2).map((t) => t.slice(0, 10)),
      ["reminder 1", "reminder 2"],
    );
    const log = await events(w, run);
    const reminded = log.filter((e) => e.kind === "approval.reminded").map((e) => e.data);
    const n = reminded.map((d) => d.reminder);
    assert.deepEqual(n, [...new Set(n)], "a reminder was recorded twice");
    assert.deepEqual(
      reminded.slice(0, 2).map((d) => d.paged),
      ["deputy", "manager"],
    );
  });

  it("killed while an incident waits for its acknowledgement: the deadline holds, each role is paged once", async () => {
    const inbox = inboxes[1]!;
    const w = await ws(
      [
        [
          "deploy:\n",
          `${ROLES}slas:\n  P0: { ack: 3s, mitigate: 30s, escalation: [sre, manager] }\ndeploy:\n`,
        ],
        PAGED,
      ],
      true,
    );
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const point = "rollback:finished@300";
    const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      ...env,
      GANTRY_FAILPOINT: point,
    });
    killed(crashed, point);
    const r = await w.gantry(["resume", "--json"], env);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.json?.outcome, "rolled_back");
    const log = await events(w, String(r.json?.run));
    assert.equal(log.filter((e) => e.kind === "sla.started").length, 1);
    assert.deepEqual(
      log.filter((e) => e.kind === "sla.breached").map((e) => [e.data.target, e.data.escalatedTo]),
      [
        ["ack", "sre"],
        ["ack", "manager"],
      ],
    );
    const pages = accepted(inbox, "role.paged");
    assert.equal(pages.length, 2, pages.join("\n"));
    assert.match(pages[0]!, /^Paging sre: P0 INC-\S+ not acknowledged within 3s$/);
    assert.equal((await w.providerState()).deploys.filter((d) => d.action === "rollback").length, 1);
  });
});
