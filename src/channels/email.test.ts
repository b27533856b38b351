import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { leaf, testCa } from "../../test/helpers/certs.js";
import { type SmtpTestServer, startSmtpServer } from "../../test/helpers/smtp-server.js";
import { spec } from "./conformance.js";
import { messageIdOf, subjectOf } from "./email.js";
import { createChannel } from "./registry.js";
import type { ChannelEnvironment, Delivery, Message } from "./types.js";

const USER = "gantry";
const PASSWORD = "Pa55-word-email-test";
const stops: Array<() => unknown> = [];
const cleanup = (stop: () => unknown) => stops.push(stop);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-email-test-"));
const env: ChannelEnvironment = { field: (t) => t, redact: (t) => t, dir };
const live = () => new AbortController().signal;
let starttls: SmtpTestServer;
let implicit: SmtpTestServer;
let plain: SmtpTestServer;

before(async () => {
  const ca = testCa();
  fs.writeFileSync(path.join(dir, "ca.pem"), ca.cert);
  const tls = leaf({ name: "localhost", ips: ["127.0.0.1"], ca });
  starttls = await startSmtpServer({ user: USER, password: PASSWORD, tls }, cleanup);
  implicit = await startSmtpServer({ user: USER, password: PASSWORD, tls, secure: true }, cleanup);
  plain = await startSmtpServer({ user: USER, password: PASSWORD }, cleanup);
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function message(overrides: Partial<Message> = {}): Message {
  n++;
  return {
    key: `run-3/release.failed:${n}`,
    event: "release.failed",
    text: `api 1.4.2 failed in *production*\n\nSee https://ci.example.com/runs/3`,
    release: { run: "run-3", service: "api", environment: "production", version: "1.4.2" },
    status: "rolled back",
    at: new Date().toISOString(),
    data: {},
    ...overrides,
  };
}

const mail = (smtp: string, extra: Record<string, unknown> = {}) =>
  createChannel(
    spec({
      type: "email",
      to: ["ops@example.com", "sre@example.com"],
      cc: ["releases@example.com"],
      from: "Gantry <gantry@example.com>",
      smtp,
      ca: "ca.pem",
      ...extra,
    }),
    "mail",
    env,
  );

const ok = (d: Delivery) => {
  assert.ok(d.ok, d.ok ? "" : d.error);
  return d;
};

test("a message has its sender, recipients, subject, text, HTML and a Message-ID made from its key", async () => {
  const channel = mail(starttls.url());
  assert.equal(channel.target, "ops@example.com, sre@example.com");
  assert.equal(channel.minIntervalMs, 0);
  assert.equal(channel.find, undefined, "SMTP cannot tell what was delivered");
  const m = message();
  const d = ok(await channel.send(m, live()));
  assert.equal(d.id, `<run-3_release.failed_${n}@gantry>`);
  assert.deepEqual(d.thread, { id: d.id, text: m.text });
  const got = starttls.messages.at(-1)!;
  assert.equal(got.secure, true, "over STARTTLS");
  assert.deepEqual(got.envelope, {
    from: "gantry@example.com",
    to: ["ops@example.com", "sre@example.com", "releases@example.com"],
  });
  assert.deepEqual(got.cc, ["releases@example.com"]);
  assert.equal(got.subject, "api 1.4.2 in production: release failed");
  assert.equal(got.messageId, d.id);
  assert.equal(got.text?.trim(), m.text);
  assert.match(got.html ?? "", /<p>api 1\.4\.2 failed in <strong>production<\/strong><\/p>/);
  assert.match(got.html ?? "", /<a href="https:\/\/ci\.example\.com\/runs\/3">/);
  assert.equal(got.headers.get("auto-submitted"), "auto-generated");

  // Sent again after a crash: the same Message-ID, for the receiving side to recognize.
  ok(await channel.send(m, live()));
  assert.equal(starttls.messages.at(-1)!.messageId, d.id);
});

test("later messages name the first, so mail clients show one conversation", async () => {
  const channel = mail(starttls.url());
  const first = ok(await channel.send(message(), live()));
  const reply = ok(await channel.send(message({ thread: first.thread, event: "rollback.started" }), live()));
  assert.equal(reply.thread, undefined);
  const got = starttls.messages.at(-1)!;
  assert.equal(got.inReplyTo, first.id);
  assert.deepEqual(got.references, [first.id]);
});

test("the template's subject and HTML are used when it has them", async () => {
  ok(
    await mail(starttls.url()).send(
      message({ subject: "Rollback of api", html: "<h1>Rolled back</h1>" }),
      live(),
    ),
  );
  const got = starttls.messages.at(-1)!;
  assert.equal(got.subject, "Rollback of api");
  assert.equal(got.html?.trim(), "<h1>Rolled back</h1>");
});

test("smtps:// is TLS from the first byte; opportunistic TLS uses STARTTLS when offered, plain text when not", async () => {
  ok(await mail(implicit.url()).send(message(), live()));
  assert.equal(implicit.messages.at(-1)!.secure, true);
  ok(await mail(starttls.url(), { tls: "opportunistic" }).send(message(), live()));
  assert.equal(starttls.messages.at(-1)!.secure, true);
  ok(await mail(plain.url(), { tls: "opportunistic" }).send(message(), live()));
  assert.equal(plain.messages.at(-1)!.secure, false);
  const refused = await mail(plain.url()).send(message(), live());
  assert.equal(refused.ok, false, "tls: require never sends in plain text");
});

test("a Message-ID keeps only characters every mail system takes; the subject is one line", () => {
  assert.equal(messageIdOf("run-1.ok_A9"), "<run-1.ok_A9@gantry>");
  assert.equal(messageIdOf("run 1/ev:ö<x>"), "<run_1_ev___x_@gantry>");
  assert.equal(messageIdOf(""), "<message@gantry>");
  assert.equal(subjectOf(message({ subject: "two\nlines" })), "two lines");
  assert.equal(subjectOf(message({ event: "test" })), "api 1.4.2 in production: test");
});

test("a spec that cannot be used is refused when made, without showing the password", () => {
  for (const smtp of ["not a url Pa55", "https://gantry:Pa55@mail.example.com"]) {
    assert.throws(
      () => mail(smtp),
      (err: Error) => {
        assert.match(err.message, /^notify\.channels\.mail\.smtp: /);
        assert.ok(!err.message.includes("Pa55"), err.message);
        return true;
      },
    );
  }
  assert.throws(
    () => mail(starttls.url(), { ca: "missing.pem" }),
    /^Error: notify\.channels\.mail\.ca: cannot read missing\.pem \(ENOENT\)/,
  );
});
