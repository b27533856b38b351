/**
 * Response targets (slas) through the real binary: the quickstart's v2 fires a P0 rule and
 * rolls back; the rollback meets `mitigate`; nobody acknowledges, so each `ack` period that
 * runs out is a breach that pages the next role of the escalation, through the runbook's own
 * channel (a local Standard Webhooks receiver). An acknowledgement in time pages nobody.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
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
function paged(inbox: WebhookReceiver): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of inbox.requests) {
    if (!r.verified || r.status >= 300 || !r.id || seen.has(r.id)) continue;
    seen.add(r.id);
    const p = r.payload as { type: string; data: { text: string } };
    if (p.type === "role.paged") out.push(p.data.text);
  }
  return out;
}

describe("response targets and escalation", { concurrency: 2 }, () => {
  const inboxes: WebhookReceiver[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++)
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
});
