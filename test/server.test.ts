/**
 * The HTTP API through real HTTP, against `gantry server` started from the binary: every
 * route the OpenAPI document lists refuses a missing, wrong, expired or revoked token (the
 * walk reads the generated list, so a new route cannot be left open); the role rules are the
 * CLI's (a non-member and the person who started the release are refused, a member's
 * approval counts); a run's events stream live over SSE, every one of them, in order; a
 * client whose requests keep failing gets 429 with Retry-After.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT } from "./helpers/paths.js";
import { call, readStream, type Served, served as serve } from "./helpers/server.js";
import { type Workspace, waitFor } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
const servers: ChildProcess[] = [];
after(async () => {
  for (const s of servers) s.kill("SIGTERM");
  await Promise.all(spaces.map((w) => w.cleanup()));
});

async function served(...args: Parameters<typeof serve>): Promise<Served> {
  const s = await serve(...args);
  spaces.push(s.w);
  servers.push(s.child);
  return s;
}

describe("gantry server", { concurrency: 2 }, () => {
  let s: Served;
  before(async () => {
    s = await served(
      [
        [
          "deploy:\n",
          "roles:\n  leads: { members: [ana, bo] }\ndecisions:\n  - name: go\n    after: gates\n    approvers: [{ role: leads }]\ndeploy:\n",
        ],
      ],
      // The walk below fails on purpose, a hundred times.
      ["--max-failures", "1000"],
    );
  });

  it("every route in the OpenAPI document refuses a missing, wrong, expired or revoked token", async () => {
    const home = { XDG_CONFIG_HOME: s.w.dir, GANTRY_TOKEN: s.tokens.ana! };
    const expired = String(
      (await s.w.gantry(["users", "token", "bo", "--expires", "1s", "--json"], home)).json?.token,
    );
    const made = await s.w.gantry(["users", "token", "mallory", "--json"], home);
    const revoked = String(made.json?.token);
    assert.equal(
      (await s.w.gantry(["users", "revoke", "--token", String(made.json?.tokenId)], home)).code,
      0,
    );
    await sleep(1500);

    const doc = await call(s, "GET", "/api/openapi.json", s.tokens.ana);
    assert.equal(doc.status, 200, doc.text);
    const paths = doc.json.paths as Record<string, Record<string, unknown>>;
    const routes = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map(
        (m) =>
          [
            m.toUpperCase(),
            path.replace("{run}", "no-such-run").replace("{name}", "x").replace("{item}", "1"),
          ] as const,
      ),
    );
    assert.ok(routes.length >= 14, `only ${routes.length} routes listed`);
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, "docs", "openapi.json"), "utf8"));
    assert.deepEqual(doc.json, committed, "docs/openapi.json is not the API served: npm run openapi");
    const bad: Record<string, string | undefined> = {
      none: undefined,
      wrong: "gantry_0123456789ab_bm90LWEtcmVhbC1zZWNyZXQtYXQtYWxsLW5vdC1vbmU",
      garbage: "not-a-token",
      expired,
      revoked,
    };
    for (const [method, path] of routes) {
      for (const [what, token] of Object.entries(bad)) {
        const r = await call(s, method, path, token, method === "POST" ? {} : undefined);
        assert.equal(r.status, 401, `${method} ${path} with a ${what} token: ${r.status} ${r.text}`);
        assert.equal(r.json.kind, "unauthenticated");
        assert.ok(!r.text.includes(String(token)) || token === undefined, "the token is echoed back");
      }
    }
    const e = await call(s, "GET", "/api/runs", expired);
    assert.match(String(e.json.error), /expired at/);
    const v = await call(s, "GET", "/api/runs", revoked);
    assert.match(String(v.json.error), /was revoked at .* by ana/);
    assert.equal(e.headers.get("www-authenticate"), 'Bearer realm="gantry"');
  });

  it("approvals follow the CLI's rules, and the run's events stream live, every one, in order", async () => {
    const home = { XDG_CONFIG_HOME: s.w.dir };
    const child = s.w.gantry(["release", s.w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], {
      ...home,
      GANTRY_TOKEN: s.tokens.ana!,
    });
    const run = String((await waitFor(s.w, (v) => v.status === "waiting", undefined, child)).id);

    // The stream, from the start of the run to its end.
    const stream = readStream(s, run, s.tokens.mallory!);
    await stream.opened;

    const outsider = await call(s, "POST", `/api/runs/${run}/approve`, s.tokens.mallory, {});
    assert.equal(outsider.status, 403, outsider.text);
    assert.match(
      String(outsider.json.error),
      /mallory may not approve decision go: not in leads \(members: ana, bo\)/,
    );
    const own = await call(s, "POST", `/api/runs/${run}/approve`, s.tokens.ana, {});
    assert.equal(own.status, 403, own.text);
    assert.match(String(own.json.error), /ana started this release and cannot approve its own decision go/);
    const unknown = await call(s, "POST", "/api/runs/no-such-run/approve", s.tokens.bo, {});
    assert.equal(unknown.status, 404, unknown.text);
    const extraField = await call(s, "POST", `/api/runs/${run}/approve`, s.tokens.bo, { commnet: "typo" });
    assert.equal(extraField.status, 400, extraField.text);

    const ok = await call(s, "POST", `/api/runs/${run}/approve`, s.tokens.bo, { comment: "dashboards fine" });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.by, ok.json.role, ok.json.count, ok.json.needed], ["bo", "leads", 1, 1]);
    const r = await child;
    assert.equal(r.json?.outcome, "released", r.stderr);
    const streamed = await stream.done;

    const events = await call(s, "GET", `/api/runs/${run}/events`, s.tokens.mallory);
    const log = events.json as unknown as Array<{ seq: number; kind: string }>;
    const end = log.findIndex((e) => e.kind === "run.finished");
    assert.ok(end > 10, "the run has too few events to judge");
    assert.deepEqual(
      streamed.map((e) => e.id),
      log.slice(0, end + 1).map((e) => e.seq),
      "the stream skipped, repeated or reordered an event",
    );
    const approval = (events.json as unknown as Array<{ kind: string; data: Record<string, unknown> }>).find(
      (e) => e.kind === "approval",
    );
    assert.deepEqual(
      [approval?.data.by, approval?.data.comment, approval?.data.authenticated],
      ["bo", "dashboards fine", true],
    );

    const list = await call(s, "GET", "/api/runs", s.tokens.bo);
    const listed = (list.json as unknown as Array<{ id: string; outcome: string; operator: string }>)[0];
    assert.deepEqual([listed?.id, listed?.outcome, listed?.operator], [run, "released", "ana"]);
    const late = await call(s, "POST", `/api/runs/${run}/rollback`, s.tokens.bo, { reason: "too late" });
    assert.equal(late.status, 409, late.text);
  });

  it("a client whose requests keep failing gets 429 with Retry-After", async () => {
    const limited = await served([], ["--max-failures", "3"]);
    for (let i = 0; i < 3; i++) assert.equal((await call(limited, "GET", "/api/runs", "nope")).status, 401);
    const r = await call(limited, "GET", "/api/runs", limited.tokens.ana);
    assert.equal(r.status, 429, r.text);
    assert.ok(Number(r.headers.get("retry-after")) > 0, "no Retry-After");
    assert.match(String(r.json.error), /too many failed requests/);
  });

  it("a release started over HTTP is queued for a worker and recorded as started by the token's identity", async () => {
    const r = await served([], [], true);
    const start = (token: string | undefined, body: Record<string, unknown>) =>
      call(r, "POST", "/api/releases", token, body);
    const release = { runbook: r.w.runbook, env: "local", ref: "v3.0.0" };
    assert.equal((await start(undefined, release)).status, 401);
    const elsewhere = await start(r.tokens.bo, { ...release, runbook: "/etc/passwd" });
    assert.equal(elsewhere.status, 404, elsewhere.text);
    assert.match(String(elsewhere.json.error), /this server does not release \/etc\/passwd; it releases: /);
    const noEnv = await start(r.tokens.bo, { ...release, env: "nowhere" });
    assert.equal(noEnv.status, 422, noEnv.text);
    const missing = await start(r.tokens.bo, { runbook: r.w.runbook, env: "local" });
    assert.equal(missing.status, 400, missing.text);

    const queued = await start(r.tokens.bo, release);
    assert.equal(queued.status, 202, queued.text);
    assert.equal(queued.json.outcome, "queued");
    const run = String(queued.json.run);
    const worker = r.w.spawn(["worker"], { XDG_CONFIG_HOME: r.w.dir });
    try {
      const done = await waitFor(r.w, (v) => v.outcome !== undefined, run);
      assert.equal(done.outcome, "released", JSON.stringify(done));
      assert.deepEqual([done.operator, done.authenticated], ["bo", true]);
    } finally {
      worker.kill("SIGTERM");
    }
  });

  it("a secret a gate printed reaches no API answer and no streamed event", async () => {
    const secret = "s3cr3t-Value-0042";
    const r = await served([
      ["release:\n", "secrets:\n  api_token: env:QS_TOKEN\nrelease:\n"],
      [
        "run: node --check service.mjs",
        'run: echo "token={{ secrets.api_token }}"; echo "{{ secrets.api_token }}" | base64 && exit 1',
      ],
    ]);
    const done = await r.w.gantry(["release", r.w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"], {
      XDG_CONFIG_HOME: r.w.dir,
      GANTRY_TOKEN: r.tokens.ana!,
      QS_TOKEN: secret,
    });
    assert.equal(done.code, 4, done.stderr);
    const run = String(done.json?.run);
    const answers = await Promise.all(
      ["", "/events", "/permissions", "/audit"].map((p) =>
        call(r, "GET", `/api/runs/${run}${p}`, r.tokens.bo),
      ),
    );
    const stream = await fetch(`${r.url}/api/runs/${run}/stream`, {
      headers: { authorization: `Bearer ${r.tokens.bo}` },
    });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let streamed = "";
    while (!streamed.includes("event: run.finished")) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      streamed += value;
    }
    await reader.cancel();
    const all = answers.map((a) => a.text).join("\n") + streamed;
    assert.match(all, /token=•••/, "the gate's output is not there at all");
    for (const form of [secret, Buffer.from(`${secret}\n`).toString("base64").slice(0, 16)])
      assert.ok(!all.includes(form), `the secret leaked as ${form}`);
  });
});
