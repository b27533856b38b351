import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { startWebhookReceiver, verifierFor } from "../../test/helpers/webhook-receiver.js";
import { spec } from "./conformance.js";
import { createChannel } from "./registry.js";
import type { ChannelEnvironment, Message } from "./types.js";
import { payloadOf } from "./webhook.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const env: ChannelEnvironment = { field: (t) => t, redact: (t) => t, dir: "." };
const stops: Array<() => unknown> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});
const cleanup = (stop: () => unknown) => stops.push(stop);

let n = 0;
function message(overrides: Partial<Message> = {}): Message {
  n++;
  return {
    key: `run-7.release-failed.${n}`,
    event: "release.failed",
    subject: "api 1.4.2 failed",
    text: "Release failed: error rate 7.2%",
    release: { run: "run-7", service: "api", environment: "production", version: "1.4.2" },
    status: "rolling back",
    at: "2026-05-04T10:00:00.000Z",
    data: { reason: "error_rate > 5%", outcome: "rolled back" },
    ...overrides,
  };
}

/** POSTs a body with the given headers, as a replaying attacker would. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  await res.body?.cancel();
  return res.status;
}

test("the payload is the event, when, and the release with the message and its data", () => {
  assert.deepEqual(payloadOf(message({ key: "k" })), {
    type: "release.failed",
    timestamp: "2026-05-04T10:00:00.000Z",
    data: {
      run: "run-7",
      service: "api",
      environment: "production",
      version: "1.4.2",
      subject: "api 1.4.2 failed",
      text: "Release failed: error rate 7.2%",
      status: "rolling back",
      reason: "error_rate > 5%",
      outcome: "rolled back",
    },
  });
});

test("a signed delivery verifies, its id is the key on every attempt, and repeats are visible by id", async () => {
  const receiver = await startWebhookReceiver({ secret: SECRET }, cleanup);
  const channel = createChannel(spec({ type: "webhook", url: receiver.url, secret: SECRET }), "hooks", env);
  assert.equal(channel.target, new URL(receiver.url).origin, "the target is the origin: no path, no query");
  const m = message();
  for (let attempt = 0; attempt < 2; attempt++) {
    const d = await channel.send(m, new AbortController().signal);
    assert.deepEqual(d, { ok: true, id: m.key, detail: `delivered to ${channel.target} (HTTP 204)` });
  }
  assert.equal(receiver.deliveries(m.key), 2, "the receiver sees the repeat by its id");
  for (const r of receiver.requests) {
    assert.equal(r.verified, true, r.error);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.id, m.key);
    assert.ok(
      Math.abs(Number(r.timestamp) - Date.now() / 1000) < 60,
      "webhook-timestamp is the attempt's, in seconds",
    );
    assert.match(String(r.headers["webhook-signature"]), /^v1,[A-Za-z0-9+/]+={0,2}$/);
    assert.deepEqual(r.payload, JSON.parse(JSON.stringify(payloadOf(m))));
  }
});

test("a secret that is not whsec_ is used as its UTF-8 bytes", async () => {
  for (const secret of ["plain-ascii-secret", "pässwörd-with-ümlauts"]) {
    const receiver = await startWebhookReceiver({ secret }, cleanup);
    const channel = createChannel(spec({ type: "webhook", url: receiver.url, secret }), "hooks", env);
    const d = await channel.send(message(), new AbortController().signal);
    assert.ok(d.ok, d.ok ? "" : d.error);
    assert.equal(receiver.requests[0]?.verified, true, receiver.requests[0]?.error);
  }
  // Why not the library's own raw format for a string: it takes UTF-16 units as bytes.
  const r = await startWebhookReceiver({ secret: "pässwörd-with-ümlauts" }, cleanup);
  await createChannel(spec({ type: "webhook", url: r.url, secret: "pässwörd-with-ümlauts" }), "h", env).send(
    message(),
    new AbortController().signal,
  );
  const sent = r.requests[0]!;
  const headers = {
    "webhook-id": sent.id!,
    "webhook-timestamp": sent.timestamp!,
    "webhook-signature": String(sent.headers["webhook-signature"]),
  };
  assert.throws(() => new Webhook("pässwörd-with-ümlauts", { format: "raw" }).verify(sent.body, headers));
});

test("without a secret nothing is signed", async () => {
  const receiver = await startWebhookReceiver({}, cleanup);
  const d = await createChannel(spec({ type: "webhook", url: receiver.url }), "hooks", env).send(
    message(),
    new AbortController().signal,
  );
  assert.ok(d.ok);
  assert.equal(receiver.requests[0]?.headers["webhook-signature"], undefined);
});

test("the receiver refuses a replayed request, a bad signature and a missing one", async () => {
  const receiver = await startWebhookReceiver({ secret: SECRET }, cleanup);
  const signer = verifierFor(SECRET);
  const body = JSON.stringify(payloadOf(message()));
  const signed = (id: string, at: Date, payload = body) => ({
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signer.sign(id, at, payload),
  });

  const fresh = signed("msg-fresh", new Date());
  assert.equal(await post(receiver.url, body, fresh), 204);
  // The same request again at once is valid, and counted: dropping it is the receiver's choice.
  assert.equal(await post(receiver.url, body, fresh), 204);
  assert.equal(receiver.deliveries("msg-fresh"), 2);

  // Captured six minutes ago and sent again now, headers unchanged: outside the tolerance.
  const captured = signed("msg-captured", new Date(Date.now() - 6 * 60_000));
  assert.equal(await post(receiver.url, body, captured), 400);
  assert.equal(receiver.requests.at(-1)?.error, "Message timestamp too old");

  // A later timestamp in the captured headers breaks the signature.
  const moved = { ...captured, "webhook-timestamp": fresh["webhook-timestamp"] };
  assert.equal(await post(receiver.url, body, moved), 400);
  assert.equal(receiver.requests.at(-1)?.error, "No matching signature found");

  // A body changed after signing, and a request signed with another secret.
  assert.equal(
    await post(receiver.url, body.replace("7.2%", "0.1%"), signed("msg-changed", new Date())),
    400,
  );
  const other = new Webhook("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
  const forged = {
    ...fresh,
    "webhook-id": "msg-forged",
    "webhook-signature": other.sign("msg-forged", new Date(), body),
  };
  assert.equal(await post(receiver.url, body, forged), 400);
  assert.equal(await post(receiver.url, body, { "webhook-id": "msg-unsigned" }), 400);
  assert.equal(receiver.requests.at(-1)?.error, "Missing required headers");
  for (const id of ["msg-captured", "msg-changed", "msg-forged", "msg-unsigned"]) {
    assert.equal(receiver.deliveries(id), 0, id);
  }
});

test("a spec that cannot be used is refused when made, without showing its value", () => {
  const made = (input: Record<string, unknown>) => () =>
    createChannel(spec({ type: "webhook", ...input }), "hooks", env);
  assert.throws(made({ url: "not a url s3cr3t" }), (err: Error) => {
    assert.equal(err.message, "notify.channels.hooks.url: not an http(s) URL");
    return true;
  });
  assert.throws(made({ url: "ftp://example.com/x" }), /notify\.channels\.hooks\.url: not an http\(s\) URL/);
  assert.throws(made({ url: "https://user:pa55@example.com/x" }), /credentials in the URL are not supported/);
  assert.throws(made({ url: "https://example.com/x", secret: "whsec_!!!not-base64" }), (err: Error) => {
    assert.match(err.message, /^notify\.channels\.hooks\.secret: not a usable signing secret/);
    assert.ok(!err.message.includes("!!!not-base64"));
    return true;
  });
});
