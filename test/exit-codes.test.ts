/**
 * Every row of the exit-code table in docs/cli.md, through the binary. The outcomes of runs
 * (4, 5, 6, 7 and 130) and a busy database (8) are exercised where they happen: a gate failure
 * and a failed check below; rolled_back, aborted, failed and Ctrl-C in test/engine.test.ts and
 * test/crash.test.ts; 8 in test/executor.test.ts; postponed (14) in test/approvals.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { gantry } from "./helpers/run.js";
import { type Workspace, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

const QUICKSTART = "examples/quickstart/runbook.yaml";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-exit-"));
// Postgres runs as its own user when the tests run as root: it must reach the data folder.
fs.chmodSync(tmp, 0o755);
const data = ["--data-dir", path.join(tmp, ".gantry")];

/** The table's rows, read from docs/cli.md: every code listed there is tested here. */
function documented(): number[] {
  const doc = fs.readFileSync(path.join(ROOT, "docs/cli.md"), "utf8");
  const table = doc.slice(doc.indexOf("## Exit codes"));
  return [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
}

const tested = new Set<number>();
function expect(code: number, args: string[], why: RegExp, cwd = ROOT) {
  const r = gantry(args, cwd);
  assert.equal(r.code, code, `gantry ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  assert.match(`${r.stdout}${r.stderr}`, why);
  tested.add(code);
  return r;
}

describe("exit codes", () => {
  it("0: valid, planned, help", () => {
    expect(0, ["validate", QUICKSTART], /valid/);
    expect(0, ["plan", QUICKSTART, "--env", "local", "--ref", "v1.0.0"], /deploy 1\.0\.0/);
    expect(0, ["--help"], /Usage: gantry/);
  });

  it("1: invalid runbook, a blocker, a database that cannot be reached", () => {
    expect(1, ["validate", `${FIXTURES}invalid-misspelled-key.yaml`], /unknown key `gatse`/);
    expect(1, ["plan", QUICKSTART, "--env", "local", "--ref", "main"], /Blocked:/);
    const r = gantry(["status"], ROOT, { GANTRY_DATABASE_URL: "postgres://gantry:x@127.0.0.1:1/gantry" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot reach the database/);
  });

  it("1: a secret key that is not 32 bytes is refused before anything runs, and not printed", async () => {
    const w = await workspace();
    spaces.push(w);
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0"], {
      GANTRY_SECRET_KEY: "too-short-key-value",
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /GANTRY_SECRET_KEY must be 32 bytes, written as 64 hex digits or in base64/);
    assert.doesNotMatch(r.stderr, /too-short-key-value/);
    assert.equal((await w.providerState()).deploys.length, 0, "something was deployed");
  });

  it("2: usage — unknown flag, a verb group without its verb, a missing file, unknown env, bad --at, unknown run", () => {
    expect(2, ["validate", "--frobnicate", QUICKSTART], /unknown option/);
    expect(2, [], /Usage: gantry/);
    expect(2, ["migrations"], /Usage: gantry migrations/);
    expect(
      2,
      ["release", "no-such-runbook.yaml", "--env", "local", "--ref", "v1.0.0"],
      /no-such-runbook\.yaml: no such file/,
    );
    expect(2, ["plan", "no-such-runbook.yaml", "--env", "local"], /no such file/);
    expect(2, ["plan", QUICKSTART, "--env", "prod"], /unknown environment `prod`/);
    expect(2, ["plan", QUICKSTART, "--env", "local", "--at", "yesterday"], /--at: cannot read/);
    expect(2, ["status", "no-such-run", ...data], /no run no-such-run/);
  });

  it("3: parts this version cannot execute", () => {
    expect(
      3,
      ["release", `${FIXTURES}valid-full.yaml`, "--env", "production", "--ref", "v1.4.0", ...data],
      /cannot execute these parts/,
    );
  });

  it("10: a finished run accepts no approval, rollback or abort; 11: a closed window runs nothing", async () => {
    const w = await workspace();
    spaces.push(w);
    const queued = await w.gantry([
      "release",
      w.runbook,
      "--env",
      "local",
      "--ref",
      "v1.0.0",
      "--detach",
      "--json",
    ]);
    assert.equal(queued.code, 0, queued.stderr);
    const run = String(queued.json?.run);
    assert.equal((await w.gantry(["abort", run, "--reason", "not today"])).code, 0);
    for (const args of [
      ["approve", run],
      ["rollback", run, "--reason", "x"],
      ["abort", run],
    ]) {
      const r = await w.gantry(args);
      assert.equal(r.code, 10, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /has already finished: aborted/);
    }
    tested.add(10);

    const today = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][new Date().getUTCDay()];
    const others = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].filter((d) => d !== today);
    const closed = path.join(w.dir, "closed.yaml");
    fs.writeFileSync(
      closed,
      fs
        .readFileSync(w.runbook, "utf8")
        .replace(
          /( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/,
          `$1    windows: [{ days: [${others.join(", ")}], start: "00:00", end: "23:59" }]\n`,
        ),
    );
    const r = await w.gantry(["release", closed, "--env", "local", "--ref", "v1.0.0"]);
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /local is closed for deploys: .*Nothing was run\./s);
    tested.add(11);
  });

  it("4 and 9: a check failed, or could not be measured", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-exit-check-"));
    const file = path.join(dir, "runbook.yaml");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(ROOT, QUICKSTART), "utf8")
        .replace(
          "checks:\n",
          'checks:\n  always-fails:\n    type: command\n    run: "false"\n  unmeasurable:\n    type: command\n    run: "echo not-a-number"\n    parse: number\n',
        ),
    );
    expect(4, ["check", file, "--env", "local", "always-fails"], /always-fails/);
    expect(9, ["check", file, "--env", "local", "unmeasurable"], /unmeasurable/);
  });

  it("12: identities exist and there is no token; 13: the token is not an administrator's", () => {
    // A database of its own: once it has identities, every verb that acts needs a token.
    const people = ["--data-dir", path.join(tmp, "people")];
    const config = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-exit-config-"));
    const as = (token: string) => ({ GANTRY_TOKEN: token, GANTRY_TOKEN_FILE: "", XDG_CONFIG_HOME: config });
    const tokenOf = (r: { stdout: string }) =>
      /gantry_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(r.stdout)?.[0] ?? "";
    const first = gantry(["users", "add", "ana", ...people], ROOT, as(""));
    assert.equal(first.code, 0, first.stderr);
    const bob = gantry(["users", "add", "bob", ...people], ROOT, as(tokenOf(first)));
    assert.equal(bob.code, 0, bob.stderr);
    const none = gantry(["users", "add", "carol", ...people], ROOT, as(""));
    assert.equal(none.code, 12, none.stderr);
    assert.match(none.stderr, /who is acting is not known/);
    tested.add(12);
    const other = gantry(["users", "add", "carol", ...people], ROOT, as(tokenOf(bob)));
    assert.equal(other.code, 13, other.stderr);
    assert.match(other.stderr, /bob is not an administrator/);
    tested.add(13);
  });

  it("covers every row of the table (the rest are run outcomes, tested where they happen)", () => {
    const elsewhere = new Set([5, 6, 7, 8, 14, 130, 70]);
    const missing = documented().filter((c) => !tested.has(c) && !elsewhere.has(c));
    assert.deepEqual(missing, []);
  });
});
