/**
 * On-call hours through the real binary, as test/sla.test.ts runs response targets: the
 * quickstart's v2 fires a P0 rule and rolls back, and nobody acknowledges. A role outside its
 * hours gives way to its backup; a role that takes P0 out of hours is paged anyway; a rule that
 * names a component pages that component's escalation instead of the severity's. The hours
 * are a day three days away from today (UTC), so every page of these runs is off hours.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { offHours } from "./helpers/on-call.js";
import { accepted, startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
import { events, type Workspace, workspace } from "./helpers/workspace.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const stops: Array<() => unknown> = [];
const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  for (const stop of stops.reverse()) await stop();
});

const PAGED: [string, string] = [
  "  on:\n",
  '    paged:\n      text: "Paging {{ page.role }} ({{ page.members | list }}): {{ reason }}"\n  on:\n    - { event: role.paged, template: paged, to: [inbox] }\n',
];

/** The rules' P0 severity and its response target, with `roles` and any other edits. */
function edits(roles: string, more: Array<[string | RegExp, string]> = []): Array<[string | RegExp, string]> {
  return [
    ["deploy:\n", `${roles}slas:\n  P0: { ack: 3s, mitigate: 30s, escalation: [sre, manager] }\ndeploy:\n`],
    PAGED,
    ...more,
  ];
}

describe("on-call hours and components in escalation", { concurrency: 2 }, () => {
  const inboxes: WebhookReceiver[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++)
      inboxes.push(await startWebhookReceiver({ secret: SECRET }, (s) => stops.push(s)));
  });

  async function v2(edit: Array<[string | RegExp, string]>, inbox: WebhookReceiver) {
    const w = await workspace({ notify: true, previous: "1.0.0", edit });
    spaces.push(w);
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], env);
    assert.equal(r.code, 5, r.stderr);
    return { w, run: String(r.json?.run), log: await events(w, String(r.json?.run)) };
  }

  it("a breach while the role is off hours pages its backup, and says so", async () => {
    const inbox = inboxes[0]!;
    const roles = `roles:\n  sre: { members: [sofia], backup: deputy, hours: ${offHours()} }\n  deputy: { members: [dana] }\n  manager: { members: [miguel] }\n`;
    const { w, run, log } = await v2(edits(roles), inbox);
    const breaches = log.filter((e) => e.kind === "sla.breached").map((e) => e.data);
    assert.deepEqual(
      breaches.map((d) => [d.escalatedTo, d.for ?? null]),
      [
        ["deputy", "sre"],
        ["manager", null],
      ],
    );
    assert.match(
      String(breaches[0]!.why),
      /^sre is off hours \(\w{3} \d\d:\d\d UTC\); paged its backup deputy$/,
    );
    const texts = accepted(inbox, "role.paged");
    assert.equal(texts.length, 2, texts.join("\n"));
    assert.match(
      texts[0]!,
      /^Paging deputy \(dana\): P0 INC-\S+ not acknowledged within 3s; sre is off hours \(\w{3} \d\d:\d\d UTC\); paged its backup deputy$/,
    );
    assert.match(texts[1]!, /^Paging manager \(miguel\): P0 INC-\S+ not acknowledged within 6s$/);
    const report = await w.gantry(["report", run, "--format", "md"]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(
      report.stdout,
      /; paged deputy \(sre is off hours \(\w{3} \d\d:\d\d UTC\); paged its backup deputy\)/,
    );
  });

  it("a P0 on a component pages its owner out of hours when the owner takes P0 only, and only that escalation", async () => {
    const inbox = inboxes[1]!;
    const roles =
      `roles:\n  dba: { members: [dmitri], hours: ${offHours()}, outOfHours: [P0] }\n` +
      "  sre: { members: [sofia] }\n  manager: { members: [miguel] }\ncomponents:\n  database: { owner: dba }\n";
    const component: [string, string] = [
      "      severity: P0\n",
      "      severity: P0\n      component: database\n",
    ];
    const { log } = await v2(edits(roles, [component]), inbox);
    const started = log.find((e) => e.kind === "sla.started");
    assert.deepEqual([started?.data.component, started?.data.escalation], ["database", ["dba"]]);
    const breaches = log.filter((e) => e.kind === "sla.breached").map((e) => e.data);
    assert.deepEqual(
      breaches.map((d) => d.escalatedTo),
      ["dba"],
      "the component's escalation, not the SLA's sre → manager",
    );
    assert.match(String(breaches[0]!.why), /^dba is off hours \(\w{3} \d\d:\d\d UTC\), paged for P0$/);
    const texts = accepted(inbox, "role.paged");
    assert.equal(texts.length, 1, texts.join("\n"));
    assert.match(
      texts[0]!,
      /^Paging dba \(dmitri\): P0 INC-\S+ not acknowledged within 3s; dba is off hours/,
    );
  });
});
