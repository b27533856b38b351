/**
 * Tests of the dns probe against DNS servers on 127.0.0.1: a dns2 server answering from a
 * test zone, one that never answers, and a port where nothing listens.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  closedDnsPort,
  type DnsServer,
  silentDnsServer,
  startDnsServer,
} from "../../test/helpers/dns-server.js";
import { DnsProbe } from "../runbook/schema/probes.js";
import { dnsProbe } from "./dns.js";

let zone: DnsServer;

before(async () => {
  zone = await startDnsServer({
    "app.example.test": {
      A: ["10.0.0.1", "10.0.0.2"],
      AAAA: ["fd00::1"],
      TXT: [["v=spf1 include:_spf.example.test", " -all"], "site-verification=abc123"],
      MX: ["20 mx2.example.test", "10 mx1.example.test"],
      NS: ["ns1.example.test"],
    },
    "www.example.test": { CNAME: ["app.example.test"] },
    "mail.example.test": { MX: ["10 mx1.example.test"] },
    "broken.example.test": "SERVFAIL",
    "refused.example.test": "REFUSED",
  });
});
after(() => zone.close());

function measure(input: Record<string, unknown>, signal?: AbortSignal) {
  const spec = DnsProbe.parse({ type: "dns", server: zone.address, timeout: "2s", ...input });
  return dnsProbe.measure(spec, signal ? { signal } : {});
}

test("A records: the value is the answers; the message says what was asked of whom", async () => {
  const m = await measure({ name: "app.example.test" });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(m.value, "10.0.0.1, 10.0.0.2");
  assert.equal(m.message, `app.example.test A via ${zone.address} → 10.0.0.1, 10.0.0.2`);
  assert.deepEqual(m.detail, { record: "A", answers: ["10.0.0.1", "10.0.0.2"] });
  assert.ok(zone.asked.includes("app.example.test A"));
});

test("expected records present: successful; names compare without case or trailing dot", async () => {
  const a = await measure({ name: "app.example.test", expect: ["10.0.0.2"] });
  assert.equal(a.phase, "successful", a.message);
  assert.match(a.message, /→ 10\.0\.0\.1, 10\.0\.0\.2 \(expected 10\.0\.0\.2\)$/);

  const cname = await measure({ name: "www.example.test", record: "CNAME", expect: ["APP.Example.test."] });
  assert.equal(cname.phase, "successful", cname.message);
  assert.equal(cname.value, "app.example.test");

  const aaaa = await measure({ name: "app.example.test", record: "AAAA", expect: ["FD00::1"] });
  assert.equal(aaaa.phase, "successful", aaaa.message);

  const ns = await measure({ name: "app.example.test", record: "NS", expect: ["ns1.example.test."] });
  assert.equal(ns.phase, "successful", ns.message);
});

test("MX: the exchanges, by priority", async () => {
  const m = await measure({ name: "app.example.test", record: "MX", expect: ["mx2.example.test"] });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(m.value, "mx1.example.test, mx2.example.test");
});

test("TXT: each record's chunks joined; values compare exactly", async () => {
  const m = await measure({ name: "app.example.test", record: "TXT", expect: ["site-verification=abc123"] });
  assert.equal(m.phase, "successful", m.message);
  assert.equal(m.value, "v=spf1 include:_spf.example.test -all, site-verification=abc123");
  const upper = await measure({
    name: "app.example.test",
    record: "TXT",
    expect: ["SITE-VERIFICATION=abc123"],
  });
  assert.equal(upper.phase, "failed");
});

test("an expected record missing fails, listing what was found", async () => {
  const m = await measure({ name: "app.example.test", expect: ["10.0.0.1", "10.0.0.9"] });
  assert.equal(m.phase, "failed");
  assert.equal(m.value, "10.0.0.1, 10.0.0.2");
  assert.equal(m.message, `app.example.test A via ${zone.address} → 10.0.0.1, 10.0.0.2; missing 10.0.0.9`);
});

test("a name that does not resolve is failed: NXDOMAIN, or no records of the type", async () => {
  const nx = await measure({ name: "gone.example.test", expect: ["10.0.0.1"] });
  assert.equal(nx.phase, "failed");
  assert.equal(nx.value, undefined);
  assert.equal(nx.message, `gone.example.test A via ${zone.address}: the name does not exist (NXDOMAIN)`);

  const nodata = await measure({ name: "mail.example.test" });
  assert.equal(nodata.phase, "failed");
  assert.match(nodata.message, /: the name has no A records$/);
});

test("resolver trouble is an error: SERVFAIL, REFUSED, nothing listening", async () => {
  const servfail = await measure({ name: "broken.example.test" });
  assert.equal(servfail.phase, "error");
  assert.match(servfail.message, /: the server failed to answer \(SERVFAIL\)$/);

  const refused = await measure({ name: "refused.example.test" });
  assert.equal(refused.phase, "error");
  assert.match(refused.message, /: the server refused the query \(REFUSED\)$/);

  const closed = await measure({ name: "app.example.test", server: `127.0.0.1:${await closedDnsPort()}` });
  assert.equal(closed.phase, "error");
  assert.match(closed.message, /: connection refused/);
});

test("a server that never answers: timed out, or cancelled", async (t) => {
  const silent = await silentDnsServer();
  t.after(silent.close);
  const started = Date.now();
  const m = await measure({ name: "app.example.test", server: silent.address, timeout: "300ms" });
  assert.equal(m.phase, "error");
  assert.equal(m.message, `app.example.test A via ${silent.address}: timed out after 300ms`);
  assert.ok(Date.now() - started < 5000);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const cancelled = await measure(
    { name: "app.example.test", server: silent.address, timeout: "60s" },
    controller.signal,
  );
  assert.equal(cancelled.phase, "error");
  assert.match(cancelled.message, /: cancelled$/);
});

test("a bad name or server is an error", async () => {
  const name = await measure({ name: "bad..name" });
  assert.equal(name.phase, "error");
  assert.match(name.message, /: not a valid DNS name$/);
  const server = await measure({ name: "app.example.test", server: "dns.example.test:53" });
  assert.equal(server.phase, "error");
  assert.match(server.message, /^bad server "dns\.example\.test:53"/);
});
