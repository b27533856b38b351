import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Environment } from "../schema/environment.js";
import { ReleasePolicy } from "../schema/flow.js";
import type { Runbook } from "../schema/runbook.js";
import { resolveRef } from "./ref.js";

const runbook = (release: unknown) => ({ release: ReleasePolicy.parse(release) }) as Runbook;
const prod = Environment.parse({});
const staging = Environment.parse({ allowRc: true });

describe("resolveRef", () => {
  it("reads the version from a matching tag", () => {
    const r = resolveRef(runbook({ tags: "v*" }), "production", prod, "v2.1.0");
    assert.deepEqual(r, { ok: true, info: { ref: "v2.1.0", kind: "tag", version: "2.1.0", rc: false } });
  });
  it("refuses a ref outside the policy", () => {
    const r = resolveRef(runbook({ tags: "v*" }), "production", prod, "main");
    assert.deepEqual(r, { ok: false, problem: "ref `main` does not match release.tags: v*" });
  });
  it("accepts release candidates only where allowed", () => {
    const rb = runbook({ tags: "v*", rc: "v*-rc.*" });
    const refused = resolveRef(rb, "production", prod, "v2.0.0-rc.1");
    assert.equal(refused.ok, false);
    const accepted = resolveRef(rb, "staging", staging, "v2.0.0-rc.1");
    assert.ok(accepted.ok && accepted.info?.rc === true);
  });
  it("accepts a commit SHA when allowCommits is set", () => {
    const rb = runbook({ tags: "v*", allowCommits: true });
    const r = resolveRef(rb, "production", prod, "3f2a9c1");
    assert.deepEqual(r, {
      ok: true,
      info: { ref: "3f2a9c1", kind: "commit", version: "3f2a9c1", rc: false },
    });
    assert.equal(resolveRef(runbook({ tags: "v*" }), "production", prod, "3f2a9c1").ok, false);
  });
  it("pins a commit", () => {
    const rb = runbook({ commit: "0123456789abcdef0123456789abcdef01234567" });
    const r = resolveRef(rb, "production", prod, undefined);
    assert.ok(r.ok && r.info?.kind === "commit" && r.info.version === "0123456789ab");
    assert.equal(resolveRef(rb, "production", prod, "deadbeef").ok, false);
  });
});
