/**
 * The shared channel conformance suite. It finds every `<type>.conformance.js` beside it (see
 * conformance.ts), starts what each case talks to, and checks the channel contract on it
 * through the registry (`createChannel`), and `send` never throwing on the module itself too.
 * A registered channel type without a conformance file fails the suite.
 *
 * The environment's `redact` masks nothing and records what it was given: the credentials must
 * be kept out by the channel itself, and every text a Delivery carries must have gone through it.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it, test } from "node:test";
import type { ChannelSpec } from "../runbook/schema/notify.js";
import { CONFORMANCE_TIMEOUT, type ConformanceCase, type ConformanceTargets } from "./conformance.js";
import { CHANNEL_TYPES, channelModule, createChannel } from "./registry.js";
import type { Channel, ChannelEnvironment, Delivery, Message } from "./types.js";

const here = import.meta.dirname;
const cases: ConformanceCase[] = [];
for (const file of fs.readdirSync(here).sort()) {
  if (!file.endsWith(".conformance.js")) continue;
  const mod = (await import(path.join(here, file))) as { conformance?: ConformanceCase[] };
  assert.ok(
    Array.isArray(mod.conformance) && mod.conformance.length > 0,
    `${file} exports no \`conformance\` cases`,
  );
  for (const c of mod.conformance) {
    assert.equal(`${c.type}.conformance.js`, file, `${file} holds cases of its own channel type only`);
    cases.push(c);
  }
}

const run = randomUUID().slice(0, 8);
let counter = 0;

/** A message as the courier hands it over. Keys use only characters a Message-ID keeps as they are. */
function message(overrides: Partial<Message> = {}): Message {
  counter++;
  return {
    key: `run-${run}.release-started.${counter}`,
    event: "release.started",
    text: `Deploying *api* 1.4.2 to production (${counter})\nhttps://ci.example.com/runs/42`,
    release: {
      run: `run-${run}`,
      service: "api",
      environment: "production",
      version: "1.4.2",
      url: "https://ci.example.com/runs/42",
    },
    status: "deploying",
    at: new Date().toISOString(),
    data: { step: "deploy" },
    ...overrides,
  };
}

const live = () => new AbortController().signal;

test("every channel type has a conformance case", () => {
  assert.ok(CHANNEL_TYPES.length > 0);
  const covered = new Set(cases.map((c) => c.type));
  for (const type of CHANNEL_TYPES) {
    assert.ok(covered.has(type), `add src/channels/${type}.conformance.ts`);
    assert.equal(channelModule(type)?.type, type);
  }
});

test("an unknown channel type is refused when the channel is made, naming where", () => {
  const env: ChannelEnvironment = { field: (t) => t, redact: (t) => t, dir: os.tmpdir() };
  assert.throws(
    () => createChannel({ type: "carrier-pigeon" } as unknown as ChannelSpec, "birds", env),
    /notify\.channels\.birds\.type: carrier-pigeon/,
  );
  assert.equal(channelModule("constructor" as ChannelSpec["type"]), undefined);
});

for (const c of cases) {
  describe(`channel conformance: ${c.type}${c.variant ? ` (${c.variant})` : ""}`, () => {
    let t: ConformanceTargets;
    let env: ChannelEnvironment;
    const redacted = new Set<string>();
    const stops: Array<() => unknown> = [];
    before(async () => {
      t = await c.setup((stop) => stops.push(stop));
      env = {
        field: (text) => text,
        redact: (text) => {
          redacted.add(text);
          return text;
        },
        dir: t.dir ?? os.tmpdir(),
      };
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    const make = (spec: ChannelSpec): Channel => {
      const channel = createChannel(spec, "conformance", env);
      assert.equal(channel.type, c.type);
      assert.ok(channel.minIntervalMs >= 0);
      for (const secret of t.secrets)
        assert.ok(!channel.target.includes(secret), `the target shows a secret`);
      return channel;
    };

    /** The contract every Delivery keeps, whatever happened. */
    const check = (d: Delivery, what: string): void => {
      const text = d.ok ? d.detail : d.error;
      assert.equal(typeof text, "string", what);
      assert.ok(text.trim().length > 0, `${what}: says what happened`);
      assert.ok(!/[\r\n]/.test(text), `${what}: one line: ${JSON.stringify(text)}`);
      assert.ok(redacted.has(text), `${what}: went through env.redact: ${text}`);
      const shown = JSON.stringify(d);
      for (const secret of t.secrets) assert.ok(!shown.includes(secret), `${what}: a secret shows: ${shown}`);
      if (d.ok) {
        assert.ok(typeof d.id === "string" && d.id.length > 0, `${what}: has an id`);
      } else {
        assert.equal(typeof d.retryable, "boolean", what);
        if (d.retryAfterMs !== undefined) assert.ok(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0);
      }
    };

    const send = async (channel: Channel, m: Message, what: string, signal = live()) => {
      const d = await channel.send(m, signal);
      check(d, what);
      return d;
    };

    const receivedAs = (id: string) => t.received().find((r) => r.id === id);

    let first: { message: Message; delivery: Extract<Delivery, { ok: true }> } | undefined;
    let reply: { message: Message; delivery: Extract<Delivery, { ok: true }> } | undefined;

    it("delivers a message with its text and its key", async () => {
      const m = message();
      const d = await send(make(t.healthy), m, "healthy");
      assert.ok(d.ok, d.ok ? "" : d.error);
      const r = receivedAs(d.id);
      assert.ok(r, `the receiver has a message with the delivery's id ${d.id}`);
      assert.equal(r.key, m.key);
      assert.equal(r.text.trim(), m.text.trim());
      assert.equal(r.thread, undefined, "a first message joins no thread");
      if (t.threads)
        assert.deepEqual(
          { id: d.thread?.id, text: d.thread?.text },
          { id: d.id, text: m.text },
          "a first message starts a thread",
        );
      else assert.equal(d.thread, undefined, "this channel has no threads");
      first = { message: m, delivery: d };
    });

    it("delivers a later message into the first one's thread, where the channel has threads", async () => {
      assert.ok(first, "needs the first delivery");
      const m = message({ event: "release.progress", thread: first.delivery.thread });
      const d = await send(make(t.healthy), m, "reply");
      assert.ok(d.ok, d.ok ? "" : d.error);
      assert.equal(d.thread, undefined, "a reply starts no thread");
      const r = receivedAs(d.id);
      assert.ok(r, "the receiver has the reply");
      assert.equal(r.key, m.key);
      if (t.threads) assert.equal(r.thread, first.delivery.thread?.id, "the reply is in the thread");
      reply = { message: m, delivery: d };
    });

    it("finds a delivered message by its key after a restart, and nothing for an unknown key", async (tc) => {
      // A new channel: what a restarted executor has.
      const channel = make(t.healthy);
      if (!channel.find) return tc.skip("this channel cannot look a message up");
      assert.ok(first && reply, "needs the first two deliveries");
      const found = await channel.find(first.message, live());
      assert.ok(found?.ok, "the first message is found");
      check(found, "found");
      assert.equal(found.id, first.delivery.id);
      assert.deepEqual(
        { id: found.thread?.id, text: found.thread?.text },
        { id: first.delivery.thread?.id, text: first.delivery.thread?.text },
        "and the thread it started",
      );
      const foundReply = await channel.find(reply.message, live());
      assert.ok(foundReply?.ok, "the reply is found");
      assert.equal(foundReply.id, reply.delivery.id);
      assert.equal(foundReply.thread, undefined);
      assert.equal(await channel.find(message(), live()), undefined, "an unknown key");
      assert.equal(await channel.find(message({ thread: first.delivery.thread }), live()), undefined);
      // A look-up that fails cannot tell: undefined, never a throw.
      assert.equal(await make(t.refused).find?.(first.message, live()), undefined);
      assert.equal(await make(t.unreachable).find?.(first.message, live()), undefined);
    });

    it("shows the release's status on the thread's first message", async (tc) => {
      const channel = make(t.healthy);
      if (!channel.updateThread) return tc.skip("this channel cannot change a message it sent");
      const thread = first?.delivery.thread;
      assert.ok(first && thread, "needs the first delivery's thread");
      const status = "rolled back at 12:03 (error rate 7.2%)";
      const d = await channel.updateThread(thread, message({ status }), live());
      check(d, "updateThread");
      assert.ok(d.ok, d.ok ? "" : d.error);
      const r = receivedAs(thread.id);
      assert.ok(r, "the first message is still there");
      assert.ok(r.shown.includes(status), `it shows the status: ${r.shown}`);
      assert.ok(r.shown.includes(first.message.text), "and still its text");
      const refused = await make(t.refused).updateThread!(thread, message({ status }), live());
      check(refused, "updateThread refused");
      assert.equal(refused.ok, false);
    });

    it("is refused for good with wrong credentials, without showing them", async () => {
      const d = await send(make(t.refused), message(), "refused");
      assert.equal(d.ok, false);
      assert.equal(d.retryable, false, d.error);
    });

    it("is retryable when nothing answers", async () => {
      const d = await send(make(t.unreachable), message(), "unreachable");
      assert.equal(d.ok, false);
      assert.equal(d.retryable, true, d.error);
    });

    it("is retryable, saying so, when the receiver hangs past the timeout", async () => {
      const started = Date.now();
      const quick = { ...t.hanging, timeout: { text: CONFORMANCE_TIMEOUT, ms: 300 } } as ChannelSpec;
      const d = await send(make(quick), message(), "hanging");
      assert.equal(d.ok, false);
      assert.equal(d.retryable, true, d.error);
      assert.match(d.error, /timed out after 300ms/);
      // Generous: only a channel that ignores its timeout waits this long.
      assert.ok(Date.now() - started < 5000, "the timeout is enforced");
    });

    it("ends when cancelled, before or during the delivery", async () => {
      const before = t.received().length;
      const d = await send(make(t.healthy), message(), "cancelled before", AbortSignal.abort());
      assert.equal(d.ok, false);
      assert.match(d.error, /cancelled/);
      assert.equal(t.received().length, before, "nothing was delivered");
      // A long timeout: the delivery ends because it was cancelled, not because it timed out.
      const slow = make({ ...t.hanging, timeout: { text: "60s", ms: 60_000 } } as ChannelSpec);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const during = await send(slow, message(), "cancelled during", controller.signal);
      assert.equal(during.ok, false);
      assert.match(during.error, /cancelled/);
      assert.ok(Date.now() - started < 5000, "cancelling ends it");
    });

    it("is retryable when the receiver asks to slow down, after the wait it asked for", async () => {
      t.rateLimited.limit();
      const d = await send(make(t.rateLimited.spec), message(), "rate limited");
      assert.equal(d.ok, false);
      assert.equal(d.retryable, true, d.error);
      if (t.rateLimited.retryAfterMs !== undefined) assert.equal(d.retryAfterMs, t.rateLimited.retryAfterMs);
    });

    it("tells failures worth another attempt from final ones", async () => {
      for (const f of t.failures ?? []) {
        f.prepare?.();
        const d = await send(make(f.spec), message(), f.what);
        assert.equal(d.ok, false, `${f.what}: not delivered`);
        assert.equal(d.retryable, f.retryable, `${f.what}: ${d.error}`);
      }
    });

    it("never throws, whatever the message holds", async () => {
      const odd = [
        message({ text: "x".repeat(200_000) }),
        message({ text: "" }),
        message({ text: "\u0000\u001b[31m 🚀 <b>&amp;</b> `code`", subject: "two\nlines" }),
        message({ data: { big: 10n } }),
        message({ thread: { id: "<not a thread>", text: "" } }),
        message({ key: "ключ with spaces/and:colons" }),
      ];
      const module = channelModule(c.type)!;
      const raw = module.create(t.healthy as never, "conformance", env);
      for (const m of odd) {
        check(await make(t.healthy).send(m, live()), `registry: ${m.text.slice(0, 20)}`);
        check(await raw.send(m, live()), `module: ${m.text.slice(0, 20)}`);
      }
    });

    it("never throws, whatever the spec holds: it is refused when made, or fails when sending", async () => {
      const module = channelModule(c.type)!;
      for (const key of Object.keys(t.healthy)) {
        if (key === "type" || key === "timeout" || key === "retry") continue;
        const broken = { ...t.healthy, [key]: { nonsense: [1, 2] } } as unknown as ChannelSpec;
        const made = [
          () => createChannel(broken, "conformance", env),
          // The module alone may throw anything when made: the registry names the channel.
          () => module.create(broken as never, "conformance", env),
        ];
        for (const [i, create] of made.entries()) {
          let channel: Channel;
          try {
            channel = create();
          } catch (err) {
            if (i === 0) assert.match((err as Error).message, /^notify\.channels\.conformance/, key);
            continue;
          }
          check(await channel.send(message(), live()), `broken ${key}`);
        }
      }
    });
  });
}
