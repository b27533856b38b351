import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { looksLikeSecret, parseSecretRef } from "./secret.js";

describe("parseSecretRef", () => {
  it("reads env and file references", () => {
    assert.deepEqual(parseSecretRef("env:DATABASE_URL"), { source: "env", name: "DATABASE_URL" });
    assert.deepEqual(parseSecretRef("file:/run/secrets/db"), { source: "file", path: "/run/secrets/db" });
  });
  it("refuses anything else", () => {
    for (const bad of ["DATABASE_URL", "env:", "env:1ABC", "vault:x", "file:", "env:A B"]) {
      assert.equal(parseSecretRef(bad), undefined, bad);
    }
  });
});

describe("looksLikeSecret", () => {
  it("flags literals with the shape of credentials", () => {
    assert.ok(looksLikeSecret("sk_live_51HxYzAbCdEf"));
    assert.ok(looksLikeSecret("postgres://app:hunter2@db.internal/app"));
    assert.ok(looksLikeSecret("https://hooks.slack.com/services/T000/B000/XXXXXXXX"));
    assert.ok(looksLikeSecret("Bearer abcdefgh12345678"));
    assert.ok(looksLikeSecret("9f8e7d6c5b4a39281706f5e4d3c2b1a0"));
  });
  it("leaves ordinary values alone", () => {
    assert.equal(looksLikeSecret("postgres://localhost:5432/app"), undefined);
    assert.equal(looksLikeSecret("https://app.example.com/health"), undefined);
    assert.equal(looksLikeSecret("Bearer {{ captures.token }}"), undefined);
    assert.equal(looksLikeSecret("production"), undefined);
  });
});
