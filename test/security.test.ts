/**
 * Gantry's security guarantees (docs/security.md), each through the real binary against a
 * throwaway quickstart: no value becomes shell syntax, templates are bounded, secrets are
 * masked in every form on every way out, commands run once and leave nothing behind.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { renderTemplate } from "../src/runbook/template.js";
import { openEmbedded } from "../src/store/embedded.js";
import { ROOT } from "./helpers/paths.js";
import { gantry as gantryAt } from "./helpers/run.js";
import { type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

/** Files an injected command would have created, anywhere in the workspace. */
function pwned(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith("pwned"));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A replacement text for String.replace, taken literally (`$$` stays `$$`). */
function literal(text: string): string {
  return text.replaceAll("$", "$$$$");
}

/** The id of the workspace's latest run. */
async function lastRun(w: Workspace): Promise<string> {
  const list = (await w.gantry(["status", "--json"])).json as unknown as Array<{ run: string }>;
  return list[0]!.run;
}

function pidsIn(dir: string, prefix: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith(".pid"))
    .map((n) => Number(fs.readFileSync(path.join(dir, n), "utf8").trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

// ——— a service whose responses are hostile ———

let hostile: http.Server;
let hostilePort = 0;
before(async () => {
  hostile = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        token: "x; touch pwned-capture #",
        sub: "$(touch pwned-substitution)",
        tick: "`touch pwned-backtick`'; touch pwned-quote; '",
        n: 300_000_000,
      }),
    );
  });
  await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
  hostilePort = (hostile.address() as AddressInfo).port;
});
after(() => hostile.close());

// ——— the canary secret and the forms it takes on the way out ———

const CANARY = "sk_live_CANARY/abc+123=XYZ!q";
const DB_PASSWORD = "pgPassCANARY99!x";
const DB_URL = `postgres://app:${encodeURIComponent(DB_PASSWORD)}@db.internal:5432/shop`;

function b64(prefix: string, text: string, url: boolean): string {
  const full = Buffer.from(prefix + text).toString(url ? "base64url" : "base64");
  // Only the characters fixed by the secret's own bytes: drop those the prefix shares, and the tail.
  const skip = Math.ceil((prefix.length * 4) / 3);
  return full.replace(/=+$/, "").slice(skip, -2);
}

/** Every form the gate prints; none may be seen anywhere. */
const FORMS: Record<string, string> = {
  exact: CANARY,
  upper: CANARY.toUpperCase(),
  lower: CANARY.toLowerCase(),
  hex: Buffer.from(CANARY).toString("hex"),
  url: encodeURIComponent(CANARY),
  json: JSON.stringify(CANARY).slice(1, -1),
  unicode: [...CANARY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
  ...Object.fromEntries(
    [0, 1, 2].flatMap((n) => [
      [`base64+${n}`, b64("x".repeat(n), CANARY, false)],
      [`base64url+${n}`, b64("x".repeat(n), CANARY, true)],
    ]),
  ),
  dbPassword: DB_PASSWORD,
  dbPasswordEncoded: encodeURIComponent(DB_PASSWORD),
};

const FORMS_SCRIPT = `
const c = process.env.GANTRY_TEST_CANARY;
const u = process.env.GANTRY_TEST_DBURL;
const b = (p, url) => Buffer.from(p + c).toString(url ? "base64url" : "base64");
console.log("exact", c);
console.log("upper", c.toUpperCase(), "lower", c.toLowerCase());
console.log("hex", Buffer.from(c).toString("hex"));
console.log("url", encodeURIComponent(c), "form", encodeURIComponent(c).replace(/%20/g, "+"));
console.log("json", JSON.stringify({ key: c }));
console.log("unicode", [...c].map((x) => "\\\\u" + x.charCodeAt(0).toString(16).padStart(4, "0")).join(""));
for (const p of ["", "x", "xx"]) console.log("b64", b(p, false), b(p, true));
console.log("piece", c.slice(0, 12));
console.log(c.slice(12));
console.log("dsn", u, "pw=" + new URL(u).password, decodeURIComponent(new URL(u).password));
console.log("host db.internal stays visible");
`;

/** Every row of every Gantry and DBOS table, as text. */
async function dumpTables(w: Workspace): Promise<string> {
  const server = await openEmbedded(w.dataDir);
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const tables = await client.query<{ s: string; t: string }>(
      "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    let text = "";
    for (const { s, t } of tables.rows) {
      const rows = await client.query(`SELECT row_to_json(x)::text AS j FROM "${s}"."${t}" x`);
      text += `${s}.${t}\n${rows.rows.map((r) => r.j).join("\n")}\n`;
    }
    return text;
  } finally {
    await client.end();
    await server.release();
  }
}

function absent(haystack: string, where: string): void {
  for (const [name, form] of Object.entries(FORMS)) {
    assert.ok(!haystack.includes(form), `${where} shows the canary's ${name} form ${form}`);
  }
  // No piece of 8 or more characters, in any case.
  const lower = haystack.toLowerCase();
  for (let i = 0; i + 8 <= CANARY.length; i++) {
    const piece = CANARY.slice(i, i + 8).toLowerCase();
    assert.ok(!lower.includes(piece), `${where} shows a piece of the canary: ${piece}`);
  }
}

describe("no value becomes shell syntax; templates bounded; secrets masked everywhere", () => {
  let w: Workspace;
  let release: Awaited<ReturnType<Workspace["gantry"]>>;

  before(async () => {
    w = await workspace({
      previous: "1.0.0; touch pwned-stored #",
      edit: [
        [
          "release:\n",
          "secrets:\n  inject: env:GANTRY_TEST_INJECT\n  canary: env:GANTRY_TEST_CANARY\n  dburl: env:GANTRY_TEST_DBURL\n\nrelease:\n",
        ],
        [
          "gates:\n",
          "gates:\n  - name: secret-forms\n    run: >-\n      echo {{ secrets.inject }} && node forms.cjs\n    timeout: 30s\n",
        ],
        [
          "    budget:\n      p95: 5s\n",
          `    budget:\n      p95: 5s\n  - name: login\n    type: http\n    url: http://127.0.0.1:${hostilePort}/login\n    capture: { token: $.token, sub: $.sub, tick: $.tick, n: $.n }\n  - name: use-captures\n    type: command\n    run: >-\n      echo {{ captures.token }} "{{ captures.sub }}" '{{ captures.tick }}'\n  - name: too-big\n    type: command\n    run: >-\n      echo {{ (1..captures.n) | join: "," | size }}\n`,
        ],
        [
          "    - revert: true\n",
          "    - revert: true\n    - name: note\n      run: >-\n        echo rolled back to {{ release.previousVersion }} from {{ release.version }}\n",
        ],
      ],
    });
    spaces.push(w);
    fs.writeFileSync(path.join(w.dir, "forms.cjs"), FORMS_SCRIPT);
    release = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0"], {
      GANTRY_TEST_INJECT: "x; touch pwned-secret #",
      GANTRY_TEST_CANARY: CANARY,
      GANTRY_TEST_DBURL: DB_URL,
    });
  });

  it("a value captured from a service's response, a secret and a stored version run no command", () => {
    assert.match(release.stdout + release.stderr, /rolled_back/, release.stdout + release.stderr);
    assert.deepEqual(pwned(w.dir), []);
  });

  it("a template over its limit at run time fails its step with the position; the executor lives on", async () => {
    const text = (await w.gantry(["log", await lastRun(w), "--json"])).stdout;
    assert.match(text, /smoke too-big[^"]*|too-big/);
    assert.match(
      text,
      /template is over its limits: it allocates more than \d+ units[^"]*line 1, column \d+/,
    );
    // The run ended on its own terms: rolled back with that reason, not a crashed process.
    assert.equal(release.code, 5, release.stderr);
  });

  it("the canary secret is absent, in every form, from output, gantry log, --json and every table", async () => {
    absent(release.stdout + release.stderr, "release output");
    const run = await lastRun(w);
    const log = await w.gantry(["log", run]);
    assert.match(log.stdout, /host db\.internal stays visible/);
    absent(log.stdout, "gantry log");
    absent((await w.gantry(["log", run, "--json"])).stdout, "gantry log --json");
    absent(await dumpTables(w), "the database");
  });

  it("a ref with shell metacharacters is refused before anything runs, naming the character", async () => {
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1$(touch pwned-ref)"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /character `\$` \(position 3\) is not allowed/);
    assert.deepEqual(pwned(w.dir), []);
  });
});

describe("templates are bounded the same way at validate time", () => {
  it("a range too large is an error with its position, and {% include %} stays in the runbook's folder", () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "gantry-sec-"));
    const file = path.join(dir, "runbook.yaml");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(ROOT, "examples/quickstart/runbook.yaml"), "utf8")
        .replace("run: node --check service.mjs", `run: 'echo {{ (1..300000000) | join: "," | size }}'`),
    );
    const r = gantryAt(["validate", file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /gates\[0\]\.run: template is over its limits: it allocates more than/);
    fs.mkdirSync(path.join(dir, "rb"));
    fs.writeFileSync(path.join(dir, "outside.liquid"), "outside");
    fs.writeFileSync(path.join(dir, "rb", "inside.liquid"), "inside");
    assert.equal(
      renderTemplate("{% include 'inside.liquid' %}", {}, { root: path.join(dir, "rb") }),
      "inside",
    );
    assert.throws(() =>
      renderTemplate("{% include '../outside.liquid' %}", {}, { root: path.join(dir, "rb") }),
    );
    assert.throws(() =>
      renderTemplate(`{% include '${dir}/outside.liquid' %}`, {}, { root: path.join(dir, "rb") }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("one copy of each command, and none left behind", { concurrency: 3 }, () => {
  /**
   * A command that records a background child's pid and a setsid child's, how often it
   * started, and whether an earlier copy was still running when it started. Its first run
   * waits long enough to be interrupted; later runs finish at once.
   */
  const TRACKED = [
    // A copy still running (a zombie, exited but not yet reaped, does not count).
    "for p in $(cat bg.pid setsid.pid 2>/dev/null); do s=$(cut -d')' -f2 /proc/$p/stat 2>/dev/null | cut -c2);",
    '[ -n "$s" ] && [ "$s" != Z ] && echo overlap >> overlaps.log; done;',
    "first=yes; [ -e starts.log ] && first=no; echo start >> starts.log;",
    "if [ $first = yes ]; then",
    "sh -c 'echo $$ > bg.pid; exec sleep 120' &",
    "setsid sh -c 'echo $$ > setsid.pid; exec sleep 121' &",
    "sleep 90; fi",
  ].join("\n      ");
  const TRACKED_GATE = `gates:\n  - name: tracked\n    run: >-\n      ${TRACKED}\n    timeout: 120s\n`;
  const TRACKED_DEPLOY = `deploy:\n  provider: command\n  deploy: >-\n      ${TRACKED}\n  rollback: echo rolled back\n  timeout: 120s\n`;

  /** Starts a release and waits until the tracked command has started both children. */
  async function startTracked(w: Workspace) {
    const child = w.spawn(["release", w.runbook, "--env", "local", "--ref", "v1.0.0"]);
    let said = "";
    child.stdout!.on("data", (d) => (said += d));
    child.stderr!.on("data", (d) => (said += d));
    const done = new Promise<void>((r) => child.on("exit", () => r()));
    for (let i = 0; i < 1200 && pidsIn(w.dir, "bg").length + pidsIn(w.dir, "setsid").length < 2; i++)
      await sleep(50);
    const pids = [...pidsIn(w.dir, "bg"), ...pidsIn(w.dir, "setsid")];
    assert.equal(pids.length, 2, `the command started its children\n${said}`);
    return { child, done, pids };
  }

  for (const [where, edit] of [
    ["a gate", ["gates:\n", literal(TRACKED_GATE)]],
    ["the deploy", [/deploy:\n {2}provider: local-process\n(?: {2}.*\n)*/, literal(TRACKED_DEPLOY)]],
  ] as const) {
    it(`SIGTERM during ${where} stops the command and its descendants, setsid ones too; resume runs it once`, async () => {
      const w = await workspace({ edit: [edit as [string | RegExp, string]] });
      spaces.push(w);
      const { child, done, pids } = await startTracked(w);
      child.kill("SIGTERM");
      await done;
      for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} was left running`);
      const resumed = await w.gantry(["resume"]);
      assert.match(resumed.stdout + resumed.stderr, /released|rolled_back|failed/, resumed.stderr);
      const starts = fs.readFileSync(path.join(w.dir, "starts.log"), "utf8").trim().split("\n");
      assert.equal(starts.length, 2, "once before SIGTERM, once on resume");
      assert.equal(fs.existsSync(path.join(w.dir, "overlaps.log")), false, "two copies ran at once");
      const log = await w.gantry(["log", await lastRun(w), "--json"]);
      assert.match(log.stdout, /"stopped"/, "the interruption records what it stopped");
    });

    it(`after a kill -9 during ${where}, resume ends the earlier attempt before running it again`, async () => {
      const w = await workspace({ edit: [edit as [string | RegExp, string]] });
      spaces.push(w);
      const { child, done, pids: earlier } = await startTracked(w);
      child.kill("SIGKILL");
      await done;
      assert.equal(earlier.length, 2);
      assert.ok(earlier.every(alive), "a crashed gantry leaves its command running");
      const resumed = await w.gantry(["resume"]);
      assert.match(resumed.stdout + resumed.stderr, /released|rolled_back|failed/, resumed.stderr);
      for (const pid of earlier)
        assert.equal(
          alive(pid),
          false,
          `the earlier attempt's pid ${pid} still runs; resume said:\n${resumed.stdout}${resumed.stderr}`,
        );
      assert.equal(fs.existsSync(path.join(w.dir, "overlaps.log")), false, "two copies ran at once");
      const log = await w.gantry(["log", await lastRun(w)]);
      assert.match(log.stdout, /an earlier attempt of this step was still running/);
    });
  }

  it("a step ends when its main process exits: a background child holding the output is no timeout", async () => {
    const w = await workspace({
      edit: [["gates:\n", "gates:\n  - name: forks\n    run: sleep 43 & echo forked\n    timeout: 10s\n"]],
    });
    spaces.push(w);
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0"]);
    assert.match(r.stdout + r.stderr, /released/, r.stderr);
    const log = await w.gantry(["log", await lastRun(w)]);
    assert.doesNotMatch(log.stdout, /timed out/);
  });

  it("a step that takes the gantry process down twice in a row is failed, not run a third time", async () => {
    const w = await workspace({
      edit: [
        [
          "gates:\n",
          "gates:\n  - name: crashes\n    run: echo start >> crashes.log; kill -9 $PPID; sleep 5\n    timeout: 30s\n",
        ],
      ],
    });
    spaces.push(w);
    const first = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0"]);
    assert.equal(first.signal, "SIGKILL");
    const second = await w.gantry(["resume"]);
    assert.equal(second.signal, "SIGKILL");
    const third = await w.gantry(["resume"]);
    assert.equal(third.code, 4, third.stdout + third.stderr);
    const view = await waitFor(w, (v) => v.status !== "running");
    assert.match(JSON.stringify(view), /ended the gantry process 2 times in a row/);
    assert.equal(fs.readFileSync(path.join(w.dir, "crashes.log"), "utf8").trim().split("\n").length, 2);
  });
});
