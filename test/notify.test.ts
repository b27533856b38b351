/**
 * Notifications end to end, through the real binary, against real protocol servers on
 * 127.0.0.1: a Standard Webhooks receiver that verifies every signature, a local server of
 * Slack's Web API, and an SMTP server. The quickstart's v2 rolls back; its messages arrive
 * exactly once each, in order, with the reason and the durations; a Slack release is one
 * thread whose first message shows the outcome; mail carries both parts and no secret; a
 * channel that is down for the whole run is recorded and the release ends as it would.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { type SlackApi, shownText, startSlackApi } from "./helpers/slack-api.js";
import { startSmtpServer } from "./helpers/smtp-server.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
import { events, QUICKSTART_INBOX, slackInbox, type Workspace, workspace } from "./helpers/workspace.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const stops: Array<() => unknown> = [];
const cleanup = (stop: () => unknown) => stops.push(stop);
const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  for (const stop of stops.reverse()) await stop();
});

async function quickstart(channel?: string, previous = "1.0.0"): Promise<Workspace> {
  const w = await workspace({
    notify: true,
    previous,
    ...(channel ? { edit: [[QUICKSTART_INBOX, channel]] } : {}),
  });
  spaces.push(w);
  return w;
}

interface Received {
  id: string;
  type: string;
  text: string;
}

/** Every message the receiver accepted, once per webhook-id, in the order they came. */
function accepted(inbox: WebhookReceiver): Received[] {
  const seen = new Set<string>();
  const out: Received[] = [];
  for (const r of inbox.requests) {
    if (!r.verified || r.status >= 300 || !r.id || seen.has(r.id)) continue;
    seen.add(r.id);
    const p = r.payload as { type: string; data: { text: string } };
    out.push({ id: r.id, type: p.type, text: p.data.text });
  }
  return out;
}

describe("the quickstart's v2 tells its inbox", () => {
  let inbox: WebhookReceiver;
  before(async () => {
    inbox = await startWebhookReceiver({ secret: SECRET }, cleanup);
  });

  it("release started, progress, rollback started and rollback completed, each once, signed and in order", async () => {
    const w = await quickstart();
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      QUICKSTART_INBOX_URL: inbox.url,
      QUICKSTART_INBOX_SECRET: SECRET,
    });
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    const got = accepted(inbox);
    const types = got.map((m) => m.type);
    assert.equal(types[0], "release.started", types.join(" "));
    assert.ok(types.includes("release.progress"), `no progress update: ${types.join(" ")}`);
    for (const once of ["release.started", "rollback.started", "rollback.completed"])
      assert.equal(types.filter((t) => t === once).length, 1, `${once}: ${types.join(" ")}`);
    assert.ok(types.indexOf("rollback.started") < types.indexOf("rollback.completed"));
    assert.ok(!types.includes("release.completed"), "a rolled-back release said it was released");
    for (const m of got) assert.equal(inbox.deliveries(m.id), 1, `${m.type} was accepted more than once`);
    assert.ok(
      inbox.requests.every((q) => q.verified),
      "a request was not signed right",
    );
    const done = got.find((m) => m.type === "rollback.completed")!;
    assert.match(done.text, /Rolled back quickstart to 1\.0\.0 in \d/);
    assert.match(done.text, /target 30s, met/);
    assert.match(done.text, /Reason: (errors: error_rate|[\w-]+: readiness)/);
    const log = (await w.gantry(["log", String(r.json?.run)])).stdout;
    assert.match(log, /told inbox \(rollback\.completed\): Rolled back quickstart/);
    // The same template filled with this run's recorded values.
    const preview = await w.gantry([
      "notify",
      "preview",
      w.runbook,
      "--env",
      "local",
      "--event",
      "rollback.completed",
      "--run",
      String(r.json?.run),
    ]);
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.stdout, /Rolled back quickstart to 1\.0\.0 in \d/);
  });
});

describe("Slack through the Web API", () => {
  let slack: SlackApi;
  const TOKEN = "xoxb-gantry-test-token-0123456789";
  before(async () => {
    slack = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  });

  it("keeps a release in one thread whose first message shows how it ended", async () => {
    const w = await quickstart(slackInbox("C0RELEASES", slack.url));
    // Slack refuses the first post with 429 and Retry-After: 2: the courier waits that long, then posts it once.
    slack.failNext(1, 429, 2);
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      SLACK_TOKEN: TOKEN,
    });
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    const retry = (await events(w, String(r.json?.run))).find((e) => e.kind === "notify.retry");
    assert.ok(retry, "no retry after the 429");
    assert.ok(Number(retry.data.waitMs) >= 2000, `waited ${retry.data.waitMs} ms, not Retry-After`);
    const posted = slack.messages.filter((m) => m.channel === "C0RELEASES");
    assert.ok(posted.length >= 4, `${posted.length} messages`);
    const [root, ...replies] = posted;
    assert.equal(root!.thread_ts, undefined);
    for (const m of replies) assert.equal(m.thread_ts, root!.ts, `not in the thread: ${m.text}`);
    assert.match(shownText(root!), /Releasing quickstart 2\.0\.0/);
    assert.ok(root!.edited.length > 0, "the first message was never updated");
    assert.match(shownText(root!), /rolled back to 1\.0\.0/);
    const keys = posted.map((m) => String(m.metadata?.event_payload.key));
    assert.equal(new Set(keys).size, keys.length, "a message was posted twice");
    for (const m of posted) assert.ok(!shownText(m).includes(TOKEN));
  });
});

describe("email through SMTP", () => {
  it("sends a plain and an HTML part, answers the first mail, and carries no secret", async () => {
    const smtp = await startSmtpServer({ user: "gantry", password: "smtp-pass-1234" }, cleanup);
    const CANARY = "canary-9f8e7d6c5b4a";
    const w = await quickstart(
      `    inbox:
      type: email
      to: [oncall@example.com]
      from: gantry@example.com
      smtp: env:SMTP_URL
      tls: opportunistic
      retry: [1s]
`,
    );
    // A gate that prints a secret and fails: the failure's reason reaches a message, masked.
    const gate = `  - name: leaky
    run: echo "token {{ secrets.canary }}" && exit 3
    timeout: 10s
`;
    const text = fs.readFileSync(w.runbook, "utf8");
    fs.writeFileSync(
      w.runbook,
      text
        .replace("gates:\n", `secrets:\n  canary: env:CANARY\n\ngates:\n${gate}`)
        .replace(
          "    - { event: release.completed, template: released, to: [inbox] }",
          "    - { event: release.completed, template: released, to: [inbox] }\n    - { event: gate.failed, template: gate, to: [inbox] }\n    - { event: release.failed, template: halted, to: [inbox] }",
        )
        .replace(
          "  on:\n",
          `    gate:\n      subject: "{{ service }}: a gate failed"\n      text: "Gate failed: {{ reason }}"\n    halted:\n      subject: "{{ service }} {{ release.version }} was not released"\n      text: "*Not released*: {{ reason }}"\n  on:\n`,
        ),
    );
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"], {
      SMTP_URL: smtp.url(),
      CANARY,
    });
    assert.equal(r.json?.outcome, "gate_failed", r.stderr);
    const subjects = smtp.messages.map((m) => m.subject);
    const gateMail = smtp.messages.find((m) => m.subject === "quickstart: a gate failed");
    const halted = smtp.messages.find((m) => m.subject === "quickstart 1.0.0 was not released");
    assert.ok(gateMail && halted, `subjects: ${subjects.join(" | ")}`);
    // The gate's output reached the message, with the secret masked.
    assert.match(gateMail.text ?? "", /Gate failed: .*token •••/);
    assert.match(halted.html ?? "", /<strong>Not released<\/strong>/);
    const first = smtp.messages[0]!;
    for (const m of smtp.messages.slice(1)) assert.equal(m.inReplyTo, first.messageId);
    for (const m of smtp.messages) {
      assert.ok(!m.raw.includes(CANARY), "the canary secret is in a mail");
      assert.ok(!m.raw.includes("smtp-pass-1234"), "the SMTP password is in a mail");
    }
    const log = JSON.stringify(await events(w, String(r.json?.run)));
    assert.ok(!log.includes(CANARY) && !log.includes("smtp-pass-1234"), "a secret is in the event log");
  });
});

describe("a channel that is down for the whole run", () => {
  it("does not change the release; every message is recorded as not delivered, a required one in the outcome", async () => {
    const inbox = await startWebhookReceiver({ secret: SECRET }, cleanup);
    inbox.down(true);
    const w = await quickstart(QUICKSTART_INBOX.replace("retry: [1s, 2s]", "retry: [200ms, 300ms]"), "");
    const text = fs.readFileSync(w.runbook, "utf8");
    fs.writeFileSync(
      w.runbook,
      text.replace(
        "{ event: release.completed, template: released, to: [inbox] }",
        "{ event: release.completed, template: released, to: [inbox], required: true }",
      ),
    );
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"], {
      QUICKSTART_INBOX_URL: inbox.url,
      QUICKSTART_INBOX_SECRET: SECRET,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released");
    assert.match(String(r.json?.reason), /required message released to inbox was not delivered/);
    const log = await events(w, String(r.json?.run));
    const failed = log.filter((e) => e.kind === "notify.failed");
    const queued = log.filter((e) => e.kind === "notify.queued");
    assert.ok(queued.length >= 2);
    assert.equal(failed.length, queued.length, "a message was neither delivered nor recorded as failed");
    for (const f of failed) assert.equal(f.data.attempts, 3);
    assert.equal(log.filter((e) => e.kind === "notify.sent").length, 0);
    const status = (await w.gantry(["status", String(r.json?.run)])).stdout;
    assert.match(status, /messages: 0 sent, \d+ not delivered/);
    assert.match(status, /✗ released to inbox \(release\.completed\) \[required\]/);
  });
});

describe("gantry notify", () => {
  it("preview fills an event's messages with sample values; an unknown event is a usage error", async () => {
    const w = await quickstart();
    const r = await w.gantry([
      "notify",
      "preview",
      w.runbook,
      "--env",
      "local",
      "--event",
      "rollback.completed",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /── rolled-back → inbox \(webhook\)/);
    assert.match(r.stdout, /Rolled back quickstart to 1\.2\.2 in 1m35s \(target 30s, missed\)/);
    const typo = await w.gantry([
      "notify",
      "preview",
      w.runbook,
      "--env",
      "local",
      "--event",
      "rollback.complete",
    ]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no event rollback\.complete; did you mean rollback\.completed\?/);
    const none = await w.gantry(["notify", "preview", w.runbook, "--env", "local", "--event", "gate.failed"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no message is sent on gate\.failed; this runbook sends on: release\.started/);
  });

  it("test sends one signed message; a refusing channel is exit 1 with no secret in the reason", async () => {
    const inbox = await startWebhookReceiver({ secret: SECRET }, cleanup);
    const w = await quickstart();
    const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
    const ok = await w.gantry(["notify", "test", w.runbook, "--env", "local", "--channel", "inbox"], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sent a test message to inbox \(webhook, http:\/\/127\.0\.0\.1:\d+\)/);
    assert.equal(inbox.requests.length, 1);
    assert.ok(inbox.requests[0]!.verified);
    assert.equal((inbox.requests[0]!.payload as { type: string }).type, "test");
    inbox.failNext(1, 401);
    const refused = await w.gantry(
      ["notify", "test", w.runbook, "--env", "local", "--channel", "inbox"],
      env,
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /inbox \(webhook, http:\/\/127\.0\.0\.1:\d+\) did not take the test message: .*401/,
    );
    const path = new URL(inbox.url).pathname;
    assert.ok(!refused.stderr.includes(path) && !refused.stderr.includes(SECRET), refused.stderr);
    const unknown = await w.gantry(["notify", "test", w.runbook, "--env", "local", "--channel", "inbx"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no channel inbx in notify\.channels \(channels: inbox\)/);
  });
});
