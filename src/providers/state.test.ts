/** ranNothing: when a failed command certainly ran nothing (started: false), and when in doubt it did. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ranNothing } from "./state.js";

describe("ranNothing", () => {
  it("is true for the shell's own 'not found' of the first word, in dash, bash and busybox wording", () => {
    for (const line of [
      "sh: 1: deployx: not found",
      "/bin/sh: line 1: deployx: command not found",
      "sh: deployx: not found",
    ]) {
      assert.equal(ranNothing("deployx 2.0.0", 127, [line]), true, line);
    }
    assert.equal(ranNothing("deployx '2.0.0' && notify", 127, ["sh: 1: deployx: not found"]), true);
  });

  it("is false when something else may have run", () => {
    // Another exit code, or nothing printed.
    assert.equal(ranNothing("deployx 2.0.0", 1, ["sh: 1: deployx: not found"]), false);
    assert.equal(ranNothing("deployx 2.0.0", 127, []), false);
    // The missing command is not the first one.
    assert.equal(ranNothing("./deploy.sh && kubectlx rollout", 127, ["sh: 1: kubectlx: not found"]), false);
    // A script that ran and failed inside, and printed more.
    assert.equal(ranNothing("deployx 2.0.0", 127, ["uploading", "sh: 1: deployx: not found"]), false);
    // Several lines, or an assignment first.
    assert.equal(ranNothing("deployx 2.0.0\n./after.sh", 127, ["sh: 1: deployx: not found"]), false);
    assert.equal(ranNothing("A=1 deployx", 127, ["sh: 1: deployx: not found"]), false);
  });
});
