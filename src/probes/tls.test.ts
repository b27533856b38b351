/**
 * Tests of the tls probe against real TLS servers on 127.0.0.1 (port 0), with certificates
 * made by test/helpers/certs.ts: a test CA (trusted through the spec's `ca` file), valid,
 * expired, expiring, wrong-host and self-signed leaves.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, type TestContext, test } from "node:test";
import { createSecureContext, createServer, type TlsOptions } from "node:tls";
import { type Issued, leaf, testCa } from "../../test/helpers/certs.js";
import { TlsProbe } from "../runbook/schema/probes.js";
import { closedPort, listen, silentServer } from "./test-support.js";
import { tlsProbe } from "./tls.js";

const NAME = "app.example.test";
const ca = testCa();
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gantry-tls-test-"));
  await writeFile(path.join(dir, "ca.pem"), ca.cert);
  await writeFile(path.join(dir, "not-a-cert.pem"), "hello\n");
});
after(() => rm(dir, { recursive: true, force: true }));

/** A TLS server on a free loopback port, closed when the test ends. Returns the port. */
function serve(t: TestContext, issued: Issued, options: TlsOptions = {}): Promise<number> {
  return listen(createServer({ ...issued, ...options }), (stop) => t.after(stop));
}

function probe(input: Record<string, unknown>) {
  return TlsProbe.parse({
    type: "tls",
    host: "127.0.0.1",
    servername: NAME,
    ca: "ca.pem",
    timeout: "2s",
    ...input,
  });
}

const measure = (input: Record<string, unknown>, signal?: AbortSignal) =>
  tlsProbe.measure(probe(input), signal ? { dir, signal } : { dir });

/** Half a day past the whole days, so the floor is the number asked for. */
const valid = (days: number, extra: Partial<Parameters<typeof leaf>[0]> = {}) =>
  leaf({ name: NAME, ips: ["127.0.0.1"], notAfter: days + 0.5, ca, ...extra });

test("a valid certificate from a trusted CA is successful; the value is whole days left", async (t) => {
  const port = await serve(t, valid(89));
  const m = await measure({ port });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(m.value, 89);
  assert.match(
    m.message,
    new RegExp(
      `^127\\.0\\.0\\.1:${port} certificate for app\\.example\\.test expires in 89 days \\(\\d{4}-\\d\\d-\\d\\d\\), minimum 14; TLSv1\\.3, trusted chain$`,
    ),
  );
  assert.equal(m.detail?.daysLeft, 89);
  assert.equal(m.detail?.subject, `CN=${NAME}`);
  assert.equal(m.detail?.issuer, "CN=Gantry Test CA");
  assert.deepEqual(m.detail?.altNames, [`DNS:${NAME}`, "IP Address:127.0.0.1"]);
  assert.equal(m.detail?.protocol, "TLSv1.3");
  assert.equal(m.detail?.authorized, true);
  assert.ok(Math.abs(Date.parse(String(m.detail?.validTo)) - (Date.now() + 89.5 * 86_400_000)) < 60_000);
});

test("port may be a template: once rendered, its digits are the port; anything else is a bad port", async (t) => {
  const port = await serve(t, valid(89));
  const spec = probe({ port: "{{ env.vars.tls_port }}" });
  assert.equal(spec.port, "{{ env.vars.tls_port }}");
  // What the engine measures: the spec with its templates rendered.
  const m = await tlsProbe.measure({ ...spec, port: String(port) }, { dir });
  assert.equal(m.phase, "successful", m.message);
  assert.match(m.message, new RegExp(`^127\\.0\\.0\\.1:${port} certificate`));
  const bad = await tlsProbe.measure({ ...spec, port: "https" }, { dir });
  assert.equal(bad.phase, "error");
  assert.match(bad.message, /bad port "https"/);
  assert.throws(() => probe({ port: "8443x" }), /port/);
});

test("a certificate for the IP address itself is checked without SNI", async (t) => {
  const port = await serve(t, valid(89));
  const m = await tlsProbe.measure(
    TlsProbe.parse({ type: "tls", host: "127.0.0.1", port, ca: "ca.pem", timeout: "2s" }),
    { dir },
  );
  assert.equal(m.phase, "successful", m.message);
});

test("expiring sooner than minDays fails; the value still says how soon", async (t) => {
  const port = await serve(t, valid(3));
  const m = await measure({ port });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, 3);
  assert.match(
    m.message,
    /certificate for app\.example\.test expires in 3 days \(\d{4}-\d\d-\d\d\), minimum 14$/,
  );
  assert.equal((await measure({ port, minDays: 3 })).phase, "successful");
});

test("an expired certificate fails with a negative value", async (t) => {
  const port = await serve(t, valid(-3, { notBefore: -30 }));
  const m = await measure({ port, minDays: 0 });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, -3);
  assert.match(m.message, /expired \d{4}-\d\d-\d\d \(3 days ago\), minimum 0$/);
  assert.equal(m.detail?.authorizationError, "CERT_HAS_EXPIRED");
});

test("a certificate not valid yet fails", async (t) => {
  const port = await serve(t, valid(60, { notBefore: 2 }));
  const m = await measure({ port });
  assert.equal(m.phase, "failed");
  assert.match(m.message, /; not valid before \d{4}-\d\d-\d\d$/);
});

test("a certificate for another name fails: hostname mismatch", async (t) => {
  const port = await serve(t, leaf({ name: "other.example.test", ca }));
  const m = await measure({ port });
  assert.equal(m.phase, "failed");
  assert.match(
    m.message,
    /; hostname mismatch: app\.example\.test is not covered \(the certificate is for other\.example\.test\)$/,
  );
  // The host's IP is not covered either.
  const byIp = await measure({ port, servername: undefined });
  assert.match(byIp.message, /hostname mismatch: 127\.0\.0\.1 is not covered/);
});

test("the servername is sent as SNI", async (t) => {
  const other = leaf({ name: "default.example.test", ca });
  const port = await serve(t, other, {
    SNICallback: (name, done) => done(null, createSecureContext(name === NAME ? valid(40) : other)),
  });
  const m = await measure({ port });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(m.value, 40);
});

test("a self-signed certificate fails: untrusted chain", async (t) => {
  const port = await serve(t, leaf({ name: NAME, notAfter: 90.5 }));
  const m = await measure({ port });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, 90);
  assert.match(m.message, /; untrusted chain: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
  assert.equal(m.detail?.authorized, false);
});

test("without the private CA the chain is not trusted", async (t) => {
  const port = await serve(t, valid(89));
  const m = await measure({ port, ca: undefined });
  assert.equal(m.phase, "failed");
  assert.match(m.message, /untrusted chain: issuer not trusted .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
});

test("every problem is named in one message", async (t) => {
  const port = await serve(t, leaf({ name: "wrong.example", notAfter: 3.5 }));
  const m = await measure({ port, protocols: ["TLSv1.2"] });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, 3);
  assert.match(
    m.message,
    /certificate for wrong\.example expires in 3 days \(.*\), minimum 14; hostname mismatch: .*; untrusted chain: .*; protocol TLSv1\.3, expected TLSv1\.2$/,
  );
});

test("a protocol version not in protocols fails", async (t) => {
  const port = await serve(t, valid(89), { maxVersion: "TLSv1.2" });
  const m = await measure({ port, protocols: ["TLSv1.3"] });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, 89);
  assert.match(m.message, /; protocol TLSv1\.2, expected TLSv1\.3$/);
  assert.equal(m.detail?.protocol, "TLSv1.2");
  const accepted = await measure({ port });
  assert.equal(accepted.phase, "successful", accepted.message);
  assert.match(accepted.message, /; TLSv1\.2, trusted chain$/);
});

test("no handshake to judge is an error", async (t) => {
  const refused = await measure({ port: await closedPort() });
  assert.equal(refused.phase, "error");
  assert.match(refused.message, /^TLS handshake with 127\.0\.0\.1:\d+: connection refused$/);

  const ssh = await listen(
    createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n")),
    (stop) => t.after(stop),
  );
  const notTls = await measure({ port: ssh });
  assert.equal(notTls.phase, "error");
  assert.match(notTls.message, /\(is this a TLS port\?\)$/);

  const hanging = await measure({ port: await silentServer((stop) => t.after(stop)), timeout: "300ms" });
  assert.equal(hanging.phase, "error");
  assert.match(hanging.message, /: timed out after 300ms$/);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const silent = await silentServer((stop) => t.after(stop));
  const cancelled = await measure({ port: silent, timeout: "60s" }, controller.signal);
  assert.equal(cancelled.phase, "error");
  assert.match(cancelled.message, /: cancelled$/);
});

test("a bad host or CA file is an error before connecting", async (t) => {
  const port = await serve(t, valid(89));
  const url = await measure({ port, host: "https://app.example.test/" });
  assert.equal(url.phase, "error");
  assert.match(url.message, /^bad host "https:\/\/app\.example\.test\/"/);
  const missing = await measure({ port, ca: "nope.pem" });
  assert.equal(missing.phase, "error");
  assert.match(missing.message, /^cannot read the CA file nope\.pem: ENOENT/);
  const notPem = await measure({ port, ca: "not-a-cert.pem" });
  assert.equal(notPem.phase, "error");
  assert.match(notPem.message, /^the CA file not-a-cert\.pem holds no PEM certificate/);
});
