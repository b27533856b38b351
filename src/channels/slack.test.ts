import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startSlackApi } from "../../test/helpers/slack-api.js";
import { spec } from "./conformance.js";
import { createChannel } from "./registry.js";
import { MAX_BLOCKS, SECTION_CHARS, TEXT_CHARS } from "./slack-blocks.js";
import type { ChannelEnvironment, Delivery, Message } from "./types.js";

const TOKEN = "xoxb-1111-2222-slackTestToken";
const env: ChannelEnvironment = { field: (t) => t, redact: (t) => t, dir: "." };
const stops: Array<() => unknown> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});
const cleanup = (stop: () => unknown) => stops.push(stop);
const live = () => new AbortController().signal;

let n = 0;
function message(overrides: Partial<Message> = {}): Message {
  n++;
  return {
    key: `run-9.event.${n}`,
    event: "release.started",
    text: `Deploying api 1.4.2 (${n})`,
    release: { run: "run-9", service: "api", environment: "production", version: "1.4.2" },
    status: "deploying",
    at: new Date().toISOString(),
    data: {},
    ...overrides,
  };
}

const ok = (d: Delivery | undefined) => {
  assert.ok(d?.ok, d && !d.ok ? d.error : "not found");
  return d;
};

test("chat.postMessage is sent as the SDK sends it: form-encoded, blocks and metadata as JSON, the token as Bearer", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const channel = createChannel(
    spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: api.url }),
    "s",
    env,
  );
  assert.equal(channel.minIntervalMs, 1000);
  const sent = [message()];
  const first = ok(await channel.send(sent[0]!, live()));
  sent.push(message({ thread: first.thread }));
  ok(await channel.send(sent[1]!, live()));
  const posts = api.requests.filter((r) => r.path === "/api/chat.postMessage");
  assert.equal(posts.length, 2);
  for (const [i, r] of posts.entries()) {
    assert.equal(r.contentType, "application/x-www-form-urlencoded");
    assert.equal(r.authorization, `Bearer ${TOKEN}`);
    assert.equal(r.params.unfurl_links, "false");
    assert.deepEqual(JSON.parse(String(r.params.metadata)), {
      event_type: "gantry_message",
      event_payload: { key: sent[i]!.key, run: "run-9" },
    });
    assert.equal(JSON.parse(String(r.params.blocks))[0].type, "section");
  }
  assert.equal(posts[0]!.params.thread_ts, undefined);
  assert.equal(posts[1]!.params.thread_ts, first.id);
});

test("a channel given by name posts by name and then uses the ID Slack answered", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["#releases"] }, cleanup);
  const named = spec({ type: "slack", token: TOKEN, channel: "#releases", api: api.url });
  const channel = createChannel(named, "s", env);
  assert.equal(channel.target, "#releases");
  const m = message();
  const first = ok(await channel.send(m, live()));
  assert.equal(api.messages[0]?.channel, api.channelId("#releases"));
  ok(await channel.updateThread!(first.thread!, message({ status: "done" }), live()));
  assert.equal(ok(await channel.find!(m, live())).id, first.id);
  // After a restart only the name is known, and the look-up methods take IDs: cannot tell.
  assert.equal(await createChannel(named, "s", env).find!(m, live()), undefined);
});

test("a look-up the token may not make cannot tell", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const channel = createChannel(
    spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: api.url }),
    "s",
    env,
  );
  const m = message();
  ok(await channel.send(m, live()));
  api.failNext(1, "missing_scope");
  assert.equal(await channel.find!(m, live()), undefined);
  assert.ok(ok(await channel.find!(m, live())));
});

test("posting faster than Slack allows comes back as retryable, with Slack's wait", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const channel = createChannel(
    spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: api.url }),
    "s",
    env,
  );
  const results = [];
  for (let i = 0; i < 8; i++) results.push(await channel.send(message(), live()));
  const limited = results.filter((d) => !d.ok);
  assert.ok(
    results.slice(0, 5).every((d) => d.ok),
    "a short burst passes",
  );
  assert.ok(limited.length >= 1, "then the channel is over its rate");
  for (const d of limited)
    assert.deepEqual(d, {
      ok: false,
      error: "Slack chat.postMessage: rate limited, retry after 1s",
      retryable: true,
      retryAfterMs: 1000,
    });
});

test("a message too long for Slack is posted within its limits", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const channel = createChannel(
    spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: api.url }),
    "s",
    env,
  );
  const text = Array.from({ length: 5000 }, (_, i) => `line ${i}: ${"x".repeat(50)}`).join("\n");
  const first = ok(await channel.send(message({ text }), live()));
  const posted = api.messages.at(-1)!;
  assert.ok(posted.blocks!.length === MAX_BLOCKS);
  assert.ok(posted.text.length <= TEXT_CHARS);
  assert.equal(first.thread?.text, text, "the thread keeps the whole text");
  ok(await channel.updateThread!(first.thread!, message({ status: "done" }), live()));
  assert.equal(posted.blocks!.length, MAX_BLOCKS);
  assert.equal(posted.blocks!.at(-1)!.type, "context");
  assert.ok(posted.blocks!.every((b) => String(b.text?.text ?? "").length <= SECTION_CHARS));
});

test("an incoming webhook posts text, blocks and the key, never threads, and never shows its URL", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const url = api.webhookUrl("C0RELEASES");
  const labelled = createChannel(spec({ type: "slack", webhook: url, channel: "#releases" }), "s", env);
  const bare = createChannel(spec({ type: "slack", webhook: url }), "s", env);
  assert.equal(labelled.target, "#releases");
  assert.equal(bare.target, "Slack incoming webhook");
  assert.equal(labelled.find, undefined);
  assert.equal(labelled.updateThread, undefined);
  const m = message({ thread: { id: "1712345678.000100", text: "earlier" } });
  assert.deepEqual(await labelled.send(m, live()), { ok: true, id: m.key, detail: "posted to #releases" });
  const posted = api.messages.at(-1)!;
  assert.equal(posted.via, "webhook");
  assert.equal(posted.thread_ts, undefined);
  assert.equal(posted.text, m.text);
  assert.equal(posted.blocks?.[0]?.type, "section");
  assert.equal(posted.metadata?.event_payload.key, m.key);
  assert.equal(api.requests.at(-1)?.contentType, "application/json");
});

test("a spec that cannot be used is refused when made, saying which field", () => {
  const made = (input: Record<string, unknown>) => () =>
    createChannel(spec({ type: "slack", ...input }), "chat", env);
  assert.throws(made({}), /^Error: notify\.channels\.chat: set `token` and `channel`/);
  assert.throws(made({ token: TOKEN, webhook: "https://hooks.slack.com/x" }), /not both/);
  assert.throws(made({ token: TOKEN }), /^Error: notify\.channels\.chat\.channel: required with `token`/);
  assert.throws(made({ webhook: "hooks.slack.com/services/T/B/s3cr3t" }), (err: Error) => {
    assert.match(err.message, /^notify\.channels\.chat\.webhook: not an http\(s\) URL/);
    assert.ok(!err.message.includes("s3cr3t"));
    return true;
  });
});

test("`api` is filled in for the environment, and a value that is not a URL is refused by name", async () => {
  const api = await startSlackApi({ token: TOKEN, channels: ["C0RELEASES"] }, cleanup);
  const filled: ChannelEnvironment = {
    ...env,
    field: (t) => t.replace("{{ env.vars.slack_api }}", api.url.replace(/\/$/, "")),
  };
  const channel = createChannel(
    spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: "{{ env.vars.slack_api }}" }),
    "s",
    filled,
  );
  ok(await channel.send(message(), live()));
  assert.equal(api.requests.filter((r) => r.path === "/api/chat.postMessage").length, 1);
  assert.throws(
    () => createChannel(spec({ type: "slack", token: TOKEN, channel: "C0RELEASES", api: "slack" }), "s", env),
    /notify\.channels\.s\.api: "slack" is not a URL/,
  );
});
