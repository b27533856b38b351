/**
 * The crash suite for messages: the quickstart's v2 (which rolls back) is killed with SIGKILL
 * at every boundary of a message's way out — rendered and queued, an attempt begun, accepted by
 * the receiver but not yet recorded, recorded as sent — then continued with `gantry resume`.
 * Each run must end as the uncrashed one does and say the same things exactly once: the
 * webhook receiver sees each message under one webhook-id (a repeat in the one moment the
 * protocol cannot close is recognized by its id), and Slack, which can be asked, gets each
 * message posted once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type SlackApi, startSlackApi } from "./helpers/slack-api.js";
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook-receiver.js";
import {
  type Outcome,
  QUICKSTART_INBOX,
  slackInbox,
  type Workspace,
  watch,
  workspace,
} from "./helpers/workspace.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN = "xoxb-gantry-crash-token-0123456789";
const stops: Array<() => unknown> = [];
const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  for (const stop of stops.reverse()) await stop();
});

/** Releases v2, killed at `point` (an event key) and resumed; the resumed run's outcome. */
async function crashAndResume(w: Workspace, env: Record<string, string>, point?: string): Promise<Outcome> {
  const args = ["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"];
  const first = await watch(w, args, { ...env, ...(point ? { GANTRY_FAILPOINT: point } : {}) }).closed;
  if (!point) return first;
  assert.equal(first.signal, "SIGKILL", `expected a kill at ${point}; got ${first.code}: ${first.stderr}`);
  return watch(w, ["resume", "--json"], env).closed;
}

/** The run's outcome, from the log: resume prints it as JSON, or says the messages went out. */
async function outcomeOf(w: Workspace): Promise<string | undefined> {
  const list = (await w.gantry(["status", "--json"])).json as unknown as Array<{ outcome: string | null }>;
  return list[0]?.outcome ?? undefined;
}

const ONCE = ["release.started", "rollback.started", "rollback.completed"];

describe("messages when gantry is killed on their way out (webhook)", { concurrency: 2 }, () => {
  const POINTS = [
    "notify:release.started:inbox:0:queued",
    "notify:release.started:inbox:0:attempt:1",
    "notify:rollback.started:inbox:2:accepted",
    "notify:rollback.started:inbox:2:sent",
    "notify:rollback.completed:inbox:3:queued",
    "notify:rollback.completed:inbox:3:accepted",
  ];
  // The uncrashed release is test/notify.test.ts's first test.
  for (const point of POINTS) {
    it(`killed at ${point}: each message once`, async () => {
      const inbox: WebhookReceiver = await startWebhookReceiver({ secret: SECRET }, (s) => stops.push(s));
      const w = await workspace({ notify: true, previous: "1.0.0" });
      spaces.push(w);
      const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
      const r = await crashAndResume(w, env, point);
      assert.equal(await outcomeOf(w), "rolled_back", `${r.stdout}\n${r.stderr}`);
      const ids = new Map<string, string>();
      for (const q of inbox.requests) {
        assert.ok(q.verified, `a request failed verification: ${q.error}`);
        ids.set(String(q.id), (q.payload as { type: string }).type);
      }
      const types = [...ids.values()];
      for (const once of ONCE)
        assert.equal(types.filter((t) => t === once).length, 1, `${once}: ${types.join(" ")}`);
      for (const [id, type] of ids) {
        // Only a kill between the receiver's acceptance and the record may repeat a delivery, under its id.
        const repeated = point.endsWith(":accepted") && point.includes(`:${type}:`);
        assert.ok(
          inbox.deliveries(id) <= (repeated ? 2 : 1),
          `${type} delivered ${inbox.deliveries(id)} times`,
        );
      }
    });
  }
});

describe("messages when gantry is killed on their way out (Slack Web API)", () => {
  let slack: SlackApi;
  before(async () => {
    slack = await startSlackApi({ token: TOKEN, channels: ["C0CRASH1", "C0CRASH2"] }, (s) => stops.push(s));
  });

  for (const [channel, point] of [
    ["C0CRASH1", "notify:release.started:inbox:0:accepted"],
    ["C0CRASH2", "notify:rollback.started:inbox:2:accepted"],
  ] as const) {
    it(`killed at ${point}: found by its key, posted once, the thread goes on`, async () => {
      const w = await workspace({
        notify: true,
        previous: "1.0.0",
        edit: [[QUICKSTART_INBOX, slackInbox(channel, slack.url)]],
      });
      spaces.push(w);
      const r = await crashAndResume(w, { SLACK_TOKEN: TOKEN }, point);
      assert.equal(await outcomeOf(w), "rolled_back", `${r.stdout}\n${r.stderr}`);
      const posted = slack.messages.filter((m) => m.channel === channel);
      const keys = posted.map((m) => String(m.metadata?.event_payload.key));
      assert.equal(new Set(keys).size, keys.length, `a message was posted twice: ${keys.join(" ")}`);
      const [root, ...replies] = posted;
      for (const m of replies) assert.equal(m.thread_ts, root!.ts, "a reply left the thread");
      for (const once of ONCE)
        assert.equal(
          keys.filter((k) => k.includes(`.notify_${once}_`)).length,
          1,
          `${once}: ${keys.join(" ")}`,
        );
    });
  }
});

describe("a rollback procedure's notify step when gantry is killed at its boundaries", {
  concurrency: 2,
}, () => {
  const STEP = "  steps:\n    - revert: true\n";
  for (const point of ["rollback:tell:started", "notify:rollback:tell:inbox:0:queued"]) {
    it(`killed at ${point}: the step's message goes out once`, async () => {
      const inbox = await startWebhookReceiver({ secret: SECRET }, (s) => stops.push(s));
      const w = await workspace({
        notify: true,
        previous: "1.0.0",
        edit: [
          [
            STEP,
            "  steps:\n    - name: tell\n      notify: rolling-back\n      to: [inbox]\n    - revert: true\n",
          ],
        ],
      });
      spaces.push(w);
      const env = { QUICKSTART_INBOX_URL: inbox.url, QUICKSTART_INBOX_SECRET: SECRET };
      const r = await crashAndResume(w, env, point);
      assert.equal(await outcomeOf(w), "rolled_back", `${r.stdout}\n${r.stderr}`);
      const ids = new Set(inbox.requests.map((q) => String(q.id)));
      const byStep = [...ids].filter((id) => id.includes(".notify_rollback_tell_inbox_0"));
      assert.equal(byStep.length, 1, [...ids].join(" "));
      assert.equal(inbox.deliveries(byStep[0]!), 1);
    });
  }
});
