import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { commandProbe } from "./command.js";
import { spec } from "./conformance.js";

const run = (input: Record<string, unknown>, dir?: string) =>
  commandProbe.measure(spec({ type: "command", timeout: "10s", ...input }) as never, dir ? { dir } : {});

describe("command probe", () => {
  it("reads the exit code: 0 passes, another code is failed with the last line said", async () => {
    const ok = await run({ run: "true" });
    assert.equal(ok.phase, "successful");
    assert.equal(ok.value, 0);
    const no = await run({ run: "echo checking; echo 'replica lag too high' >&2; exit 3" });
    assert.equal(no.phase, "failed");
    assert.equal(no.value, 3);
    assert.match(no.message, /exited 3: replica lag too high/);
  });

  it("compares the exit code with expect when given", async () => {
    const m = await run({ run: "exit 2", expect: "== 2" });
    assert.equal(m.phase, "successful", m.message);
  });

  it("reads stdout as a number", async () => {
    const m = await run({ run: "printf ' 17.5\\n'", parse: "number", expect: "< 20" });
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 17.5);
    const high = await run({ run: "echo 25", parse: "number", expect: "< 20" });
    assert.equal(high.phase, "failed");
    assert.match(high.message, /= 25, expected < 20/);
  });

  it("reads stdout as JSON, by path", async () => {
    const json = JSON.stringify({ replicas: { ready: 3, wanted: 3 }, phase: "Running" });
    const m = await run({ run: `echo '${json}'`, parse: "json", path: "$.replicas.ready", expect: ">= 3" });
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 3);
    const word = await run({ run: `echo '${json}'`, parse: "json", path: "$.phase", expect: "Running" });
    assert.equal(word.phase, "successful", word.message);
    const missing = await run({ run: `echo '${json}'`, parse: "json", path: "$.nope" });
    assert.equal(missing.phase, "error");
    assert.match(missing.message, /\$\.nope is missing/);
    const whole = await run({ run: `echo '${json}'`, parse: "json" });
    assert.equal(whole.phase, "error");
    assert.match(whole.message, /give a path/);
  });

  it("runs in the runbook's folder", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-cmd-"));
    try {
      fs.writeFileSync(path.join(dir, "count.txt"), "7\n");
      const m = await run({ run: "cat count.txt", parse: "number", expect: 7 }, dir);
      assert.equal(m.phase, "successful", m.message);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says a missing command is not found: an error, not a failed check", async () => {
    const m = await run({ run: "no-such-command-gantry" });
    assert.equal(m.phase, "error");
    assert.match(m.message, /command not found: no-such-command-gantry/);
  });
});
