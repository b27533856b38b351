/**
 * Response targets (slas) through the real binary: the quickstart's v2 fires a P0 rule and
 * rolls back; the rollback meets `mitigate`; nobody acknowledges, so each `ack` period that
 * runs out is a breach that pages the next role of the escalation, through the runbook's own
 * channel (a local Standard Webhooks receiver). An acknowledgement in time pages nobody. An
 * approval request that nobody answers reminds every `remind` and pages its escalation in turn;
 * so does a rule that pauses the release for a person.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { accepted, startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
import { events, type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const stops: Array<() => unknown> = [];
const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  for (const stop of stops.reverse()) await stop();
});

function sla(ack: string): Array<[string | RegExp, string]> {
  return [
    [
      "deploy:\n",
      `roles:\n  sre: { members: [sofia] }\n  manager: { members: [miguel] }\nslas:\n  P0: { ack: ${ack}, mitigate: 30s, escalation: [sre, manager] }\ndeploy:\n`,
    ],
    [
      "  on:\n",
      '    paged:\n      text: "Paging {{ page.role }} ({{ page.members | list }}): {{ reason }}"\n  on:\n    - { event: role.paged, template: paged, to: [inbox] }\n',
    ],
  ];
}

/** The role.paged messages the receiver accepted, once each. */
const paged = (inbox: WebhookReceiver) => accepted(inbox, "role.paged");

describe("response targets and escalation", { concurrency: 2 }, () => {
  const inboxes: WebhookReceiver[] = [];
  before(async () => {
    for (let i = 0; i < 4; i++)
      inboxes.push(await startWebhookReceiver({ secret: SECRET }, (s) => stops.push(s)));
  });

  async function v2(ack: string, inbox: WebhookReceiver) {
    const w = await workspace({ notify: true, previous: "1.0.0", edit: sla(ack) });
    spaces.push(w);
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], env);
    return { w, child };
  }

  it("an acknowledgement that does not come is a breach each ack period, paging sre, then manager", async () => {
    const inbox = inboxes[0]!;
    const { w, child } = await v2("3s", inbox);
    const r = await child;
    assert.equal(r.code, 5, r.stderr);
    const log = await events(w, String(r.json?.run));
    const started = log.find((e) => e.kind === "sla.started");
    assert.deepEqual([started?.data.severity, started?.data.escalation], ["P0", ["sre", "manager"]]);
    const met = log.filter((e) => e.kind === "sla.met").map((e) => e.data.target);
    assert.deepEqual(met, ["mitigate"]);
    const breaches = log.filter((e) => e.kind === "sla.breached");
    assert.deepEqual(
      breaches.map((e) => [e.data.target, e.data.escalatedTo]),
      [
        ["ack", "sre"],
        ["ack", "manager"],
      ],
    );
    assert.match(String(breaches[0]!.data.message), /^P0 INC-\S+ not acknowledged within 3s$/);
    const texts = paged(inbox);
    assert.equal(texts.length, 2, texts.join("\n"));
    assert.match(texts[0]!, /^Paging sre \(sofia\): P0 INC-\S+ not acknowledged within 3s$/);
    assert.match(texts[1]!, /^Paging manager \(miguel\): P0 INC-\S+ not acknowledged within 6s$/);
  });

  it("an acknowledgement in time stops the timer: no breach, nobody paged", async () => {
    const inbox = inboxes[1]!;
    const { w, child } = await v2("60s", inbox);
    const view = await waitFor(
      w,
      (v) => (v.waiting as { form?: string } | undefined)?.form === "ack",
      undefined,
      child,
    );
    const run = String(view.id);
    const handed = await w.gantry([
      "handoff",
      run,
      "--to",
      "miguel",
      "--note",
      "rolled back; customers told",
      "--as",
      "sofia",
    ]);
    assert.equal(handed.code, 0, handed.stderr);
    const early = await w.gantry(["approve", run, "--as", "sofia", "--reject"]);
    assert.notEqual(early.code, 0, "an acknowledgement cannot be rejected");
    const ack = await w.gantry(["ack", run, "--as", "sofia"]);
    assert.equal(ack.code, 0, ack.stderr);
    assert.match(ack.stdout, /^acknowledged P0 INC-\S+ by \S+ UTC as sofia/);
    const r = await child;
    assert.equal(r.code, 5, r.stderr);
    const log = await events(w, run);
    assert.equal(log.filter((e) => e.kind === "sla.breached").length, 0);
    const acked = log.find((e) => e.kind === "sla.met" && e.data.target === "ack");
    assert.equal(acked?.data.by, "sofia");
    assert.deepEqual(paged(inbox), []);
    const handoff = log.find((e) => e.kind === "handoff");
    assert.deepEqual(
      [handoff?.data.from, handoff?.data.to, handoff?.data.note],
      ["sofia", "miguel", "rolled back; customers told"],
    );
    const again = await w.gantry(["ack", run, "--as", "sofia"]);
    assert.equal(again.code, 10, "a finished run accepts no acknowledgement");
  });

  it("an approval request nobody answers is asked again every remind, paging its escalation in turn", async () => {
    const inbox = inboxes[2]!;
    const w = await workspace({
      notify: true,
      previous: "1.0.0",
      edit: [
        [
          "deploy:\n",
          "roles:\n  leads: { members: [ana] }\n  sre: { members: [sofia] }\n  manager: { members: [miguel] }\n" +
            "decisions:\n  - name: go\n    after: gates\n    approvers: [{ role: leads }]\n    remind: 2s\n    escalation: [sre, manager]\ndeploy:\n",
        ],
        [
          "  on:\n",
          '    paged:\n      text: "Paging {{ page.role }} ({{ page.members | list }}): {{ reason }}"\n    asked:\n      text: "{{ reason }}"\n  on:\n    - { event: role.paged, template: paged, to: [inbox] }\n    - { event: approval.requested, template: asked, to: [inbox] }\n',
        ],
      ],
    });
    spaces.push(w);
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], env);
    const run = String((await waitFor(w, (v) => v.status === "waiting", undefined, child)).id);
    for (let i = 0; i < 150 && paged(inbox).length < 2; i++) await sleep(100);
    const ok = await w.gantry(["approve", run, "--as", "ana"]);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await child;
    assert.equal(r.json?.outcome, "released", r.stderr);
    const log = await events(w, run);
    const reminded = log.filter((e) => e.kind === "approval.reminded").map((e) => e.data);
    assert.deepEqual(
      reminded.slice(0, 2).map((d) => [d.reminder, d.paged]),
      [
        [1, "sre"],
        [2, "manager"],
      ],
    );
    assert.ok(
      reminded.slice(2).every((d) => d.paged === null),
      "after the escalation list ends, reminders page nobody",
    );
    assert.ok(
      log.filter((e) => e.kind === "notify.queued" && e.data.event === "approval.requested").length >= 3,
      "the request and each reminder were sent",
    );
    const texts = paged(inbox);
    assert.match(texts[0]!, /^Paging sre \(sofia\): decision go has waited 2s without an answer$/);
    assert.match(texts[1]!, /^Paging manager \(miguel\): decision go has waited 4s without an answer$/);
    assert.equal(texts.length, 2, texts.join("\n"));
  });

  it("a rule that pauses the release starts its severity's ack timer: breaches page sre, then manager", async () => {
    const inbox = inboxes[3]!;
    const w = await workspace({
      notify: true,
      previous: "1.0.0",
      edit: [
        ...sla("2s"),
        [
          "monitor:\n  interval: 1s\n",
          "monitor:\n  interval: 1s\n  tiers:\n    P0: { action: pause }\n    P1: { action: rollback }\n",
        ],
      ],
    });
    spaces.push(w);
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], env);
    const view = await waitFor(
      w,
      (v) => (v.waiting as { form?: string } | undefined)?.form === "pause",
      undefined,
      child,
    );
    const run = String(view.id);
    for (let i = 0; i < 150 && paged(inbox).length < 2; i++) await sleep(100);
    const no = await w.gantry(["approve", run, "--reject", "--reason", "errors are real", "--as", "sofia"]);
    assert.equal(no.code, 0, no.stderr);
    const r = await child;
    assert.equal(r.code, 5, r.stderr);
    const log = await events(w, run);
    const started = log.find((e) => e.kind === "sla.started");
    assert.equal(started?.data.severity, "P0");
    assert.equal(started?.data.mitigateBy, undefined, "a pause times only the acknowledgement");
    const breaches = log.filter((e) => e.kind === "sla.breached");
    assert.deepEqual(
      breaches.map((e) => [e.data.target, e.data.escalatedTo]),
      [
        ["ack", "sre"],
        ["ack", "manager"],
      ],
    );
    const acked = log.find((e) => e.kind === "sla.met" && e.data.target === "ack");
    assert.equal(acked?.data.by, "sofia");
    const texts = paged(inbox);
    assert.equal(texts.length, 2, texts.join("\n"));
    assert.match(
      texts[0]!,
      /^Paging sre \(sofia\): P0 rule paused the release \(.+\): not acknowledged within 2s$/,
    );
    assert.match(texts[1]!, /: not acknowledged within 4s$/);
  });
});
