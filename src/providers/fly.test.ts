/**
 * What only the fly provider does, against the Machines API stand-in (test/helpers/fly-api.ts):
 * the config written back whole with the image and Gantry's metadata, one Machine at a time;
 * the image and digest recorded per version and used by a rollback; the engine's shell-quoted
 * template; a deploy stopped midway carried on by its key, each Machine updated once; a rollout
 * stopped at an unhealthy Machine; stopped Machines left stopped; a refused token, an unknown
 * app, 429s; the canary by Machine ratio, up and down; status read from the Machines.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type FlyApi, startFlyApi } from "../../test/helpers/fly-api.js";
import { closedPort } from "../probes/test-support.js";
import { Deploy } from "../runbook/schema/flow.js";
import { renderTemplate } from "../runbook/template.js";
import { canaryCount, createFlyProvider } from "./fly.js";
import { imageVersion } from "./fly-image.js";
import { readState, request, type TestDatabase, tempDir, testDatabase, testOptions } from "./test-support.js";
import type { ProviderOptions } from "./types.js";

const TOKEN = "fm2_unit_s3cr3t_token";
const stops: Array<() => unknown> = [];
let db: TestDatabase;
let api: FlyApi;
let apps = 0;

interface Setup {
  machines?: number;
  stopped?: number;
  image?: string;
  spec?: Record<string, unknown>;
  options?: Partial<ProviderOptions>;
  env?: Record<string, string>;
  app?: string;
  stateDir?: string;
  flyApi?: FlyApi;
}

function setup(o: Setup = {}) {
  const fly = o.flyApi ?? api;
  const stateDir = o.stateDir ?? tempDir("fly-state");
  const app = o.app ?? `unit-${++apps}`;
  fly.createApp(app, {
    machines: o.machines ?? 3,
    ...(o.stopped ? { stopped: o.stopped } : {}),
    ...(o.image ? { image: o.image } : {}),
  });
  const spec = Deploy.parse({ provider: "fly", app, api: fly.url, timeout: "5s", ...o.spec });
  assert.ok(spec.provider === "fly");
  const options = testOptions(db.pool, stateDir, { env: { FLY_API_TOKEN: TOKEN, ...o.env }, ...o.options });
  return { provider: createFlyProvider(spec, options), app, stateDir, options, fly };
}

const machinesOf = (app: string, fly = api) => fly.machines(app) ?? [];
const updatesOf = (app: string, fly = api) => fly.updates.filter((u) => u.app === app);

describe("fly provider", () => {
  before(async () => {
    db = await testDatabase();
    api = await startFlyApi({ token: TOKEN }, (stop) => stops.push(stop));
    api.image("registry.fly.io/broken", "unhealthy");
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await db?.close();
  });

  it("writes each Machine's whole config back with the image and Gantry's metadata, one at a time", async () => {
    const { provider, app } = setup();
    const before = machinesOf(app);
    const result = await provider.deploy(request("1.0.0", "r1:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.equal(result.previousVersion, "0.9.0", "read from the image the Machines ran");
    assert.match(
      result.message,
      new RegExp(`^deployed 1\\.0\\.0 on all 3 machines of ${app} in .+ \\(was 0\\.9\\.0\\)$`),
    );
    for (const m of machinesOf(app)) {
      const was = before.find((b) => b.id === m.id)!;
      assert.equal(m.config.image, `registry.fly.io/${app}:1.0.0`);
      assert.notEqual(m.instance_id, was.instance_id, "a new instance");
      assert.deepEqual(m.config.metadata, {
        ...was.config.metadata,
        gantry_key: "r1:deploy",
        gantry_version: "1.0.0",
        gantry_image: `registry.fly.io/${app}:1.0.0`,
      });
      assert.deepEqual({ ...m.config, image: "", metadata: {} }, { ...was.config, image: "", metadata: {} });
    }
    // Rolling: each Machine's update is followed by a wait for its new instance before the next.
    const trail = api.requests
      .filter(
        (r) =>
          r.url.startsWith(`/v1/apps/${app}/machines/`) && (r.method === "POST" || r.url.includes("/wait")),
      )
      .map((r) => `${r.method} ${r.url.split("/")[5]}${r.url.includes("/wait") ? " wait" : ""}`);
    const ids = before.map((m) => m.id).sort();
    assert.deepEqual(
      trail.filter((t, i) => t !== trail[i - 1]),
      ids.flatMap((id) => [`POST ${id}`, `GET ${id} wait`]),
    );
    assert.ok(
      api.requests.some(
        (r) => r.url.includes("/wait?state=started&timeout=") && r.url.includes("instance_id="),
      ),
    );
  });

  it("records each version's image and digest, and what ran before Gantry's first deploy", async () => {
    const { provider, app, options } = setup();
    assert.equal((await provider.deploy(request("1.0.0", "r2:deploy"))).ok, true);
    const details = await options.state.details("1.0.0");
    assert.equal(details?.app, app);
    assert.equal(details?.image, `registry.fly.io/${app}:1.0.0`);
    assert.match(String(details?.digest), /^sha256:[0-9a-f]{64}$/);
    assert.equal((await options.state.details("0.9.0"))?.image, `registry.fly.io/${app}:0.9.0`);
  });

  it("rolls back to the image recorded for the version, whatever the template says now", async () => {
    const first = setup();
    assert.equal((await first.provider.deploy(request("1.0.0", "r3:deploy"))).ok, true);
    assert.equal((await first.provider.deploy(request("2.0.0", "r4:deploy"))).ok, true);
    const moved = setup({
      app: first.app,
      stateDir: first.stateDir,
      spec: { image: "registry.fly.io/elsewhere:{{ release.version }}" },
    });
    const status = await moved.provider.status();
    assert.equal(status.version, "2.0.0", "from the Machines' metadata");
    const back = await moved.provider.rollback(request("1.0.0", "r4:rollback"));
    assert.equal(back.ok, true, back.message);
    assert.equal(back.previousVersion, "2.0.0");
    for (const m of machinesOf(first.app)) assert.equal(m.config.image, `registry.fly.io/${first.app}:1.0.0`);
    assert.equal(api.operations(first.app), 3);
  });

  it("fills the image template as plain text, as the engine does", async () => {
    const text: ProviderOptions["text"] = (template, values) =>
      renderTemplate(template, {
        release: { version: values.version, previousVersion: values.previousVersion },
      });
    const { provider, app } = setup({
      spec: { image: "registry.fly.io/{{ 'quoted' }}-x:v{{ release.version }}" },
      options: { text },
    });
    const result = await provider.deploy(request("1.0.0", "r5:deploy"));
    assert.equal(result.ok, true, result.message);
    for (const m of machinesOf(app)) assert.equal(m.config.image, "registry.fly.io/quoted-x:v1.0.0");
    assert.equal((await provider.status()).version, "1.0.0");
  });

  it("carries on a deploy that stopped midway: each Machine is updated once", async () => {
    const { provider, app, stateDir } = setup();
    api.delayNext(1500);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const cut = await provider.deploy({ ...request("1.0.0", "r6:deploy"), signal: stop.signal });
    assert.equal(cut.ok, false);
    assert.equal(cut.started, true);
    assert.match(
      cut.message,
      /^stopped while bringing machine \w+ to 1\.0\.0; a retry with the same key carries on$/,
    );
    assert.equal(updatesOf(app).length, 1);
    assert.equal((await readState(db.pool, stateDir)).deploys.at(-1)?.result, "in-progress");

    const again = setup({ app, stateDir });
    const done = await again.provider.deploy(request("1.0.0", "r6:deploy"));
    assert.equal(done.ok, true, done.message);
    assert.notEqual(done.replayed, true, "it updated the other Machines");
    assert.equal(done.previousVersion, "0.9.0");
    assert.equal(updatesOf(app).length, 3, "each Machine once");
    assert.equal(api.operations(app), 1);
    const { deploys, current } = await readState(db.pool, stateDir);
    assert.deepEqual(
      deploys.map((d) => [d.key, d.result]),
      [["r6:deploy", "ok"]],
    );
    assert.equal(current, "1.0.0");
  });

  it("a replay that only has to see the last Machine through is a replay", async () => {
    const { provider, app, stateDir } = setup({ machines: 1 });
    api.delayNext(1000);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    assert.equal(
      (await provider.deploy({ ...request("1.0.0", "r7:deploy"), signal: stop.signal })).ok,
      false,
    );
    const done = await setup({ app, stateDir }).provider.deploy(request("1.0.0", "r7:deploy"));
    assert.equal(done.ok, true, done.message);
    assert.equal(done.replayed, true, done.message);
    assert.equal(updatesOf(app).length, 1);
  });

  it("stops the rollout at a Machine whose checks stay critical", async () => {
    const { provider, app } = setup({
      spec: { image: "registry.fly.io/broken:{{ release.version }}", timeout: "1s" },
    });
    const result = await provider.deploy(request("2.0.0", "r8:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, true);
    assert.match(result.message, /started, but its checks did not pass within 1s \(http critical: /);
    assert.equal(updatesOf(app).length, 1, "the other Machines were left alone");
    const status = await provider.status();
    assert.equal(status.healthy, false);
    assert.equal(status.version, undefined, "most Machines run an image this template does not make");
    assert.match(
      status.message,
      /^registry\.fly\.io\/unit-\d+:0\.9\.0 on 2 of 3 machines, 2\.0\.0 on 1; machine \w+ http critical: "GET \/health: 500 Internal Server Error: database unreachable"$/,
    );
  });

  it("updates a stopped Machine without starting it", async () => {
    const { provider, app } = setup({ stopped: 1 });
    const result = await provider.deploy(request("1.0.0", "r9:deploy"));
    assert.equal(result.ok, true, result.message);
    const updates = updatesOf(app);
    assert.deepEqual(
      updates.map((u) => u.skipLaunch),
      [false, false, true],
    );
    const stopped = machinesOf(app).filter((m) => m.state === "stopped");
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0]?.config.image, `registry.fly.io/${app}:1.0.0`);
    const status = await provider.status();
    assert.equal(status.healthy, true, status.message);
    assert.equal(status.message, "1.0.0 on all 3 machines; started, checks passing (1 stopped)");
  });

  it("says the token was refused, and changed nothing", async () => {
    const { provider, app } = setup({ env: { FLY_API_TOKEN: "fm2_wrong_s3cr3t" } });
    const result = await provider.deploy(request("1.0.0", "r10:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.equal(
      result.message,
      `deploy of 1.0.0 failed: the Fly API refused the token (GET /v1/apps/${app}/machines: 401 unauthorized); check deploy.token`,
    );
    assert.equal(updatesOf(app).length, 0);
    assert.match((await provider.status()).message, /401 unauthorized/);
  });

  it("an unset token is said, and changes nothing", async () => {
    const { provider } = setup({ spec: { token: "env:FLY_TOKEN_NOT_SET_4711" } });
    const result = await provider.deploy(request("1.0.0", "r11:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(result.message, /FLY_TOKEN_NOT_SET_4711 is not set/);
  });

  it("sends a FlyV1 token as it is", async () => {
    const flyApi = await startFlyApi({ token: "FlyV1 fm2_macaroon" }, (stop) => stops.push(stop));
    const { provider } = setup({ flyApi, env: { FLY_API_TOKEN: "FlyV1 fm2_macaroon" } });
    assert.equal((await provider.deploy(request("1.0.0", "r12:deploy"))).ok, true);
    assert.ok(flyApi.requests.every((r) => r.authorization === "FlyV1 fm2_macaroon"));
  });

  it("says an unknown app is unknown", async () => {
    const spec = Deploy.parse({ provider: "fly", app: "no-such-app", api: api.url });
    assert.ok(spec.provider === "fly");
    const missing = createFlyProvider(
      spec,
      testOptions(db.pool, tempDir("fly-state"), { env: { FLY_API_TOKEN: TOKEN } }),
    );
    const result = await missing.deploy(request("1.0.0", "r13:deploy"));
    assert.equal(result.started, false);
    assert.equal(
      result.message,
      "deploy of 1.0.0 failed: GET /v1/apps/no-such-app/machines: 404 app not found; check deploy.app (no-such-app) and the token's organization",
    );
  });

  it("waits out a 429 for as long as Retry-After says, and no longer than the deadline", async () => {
    const { provider } = setup();
    api.limit(1, 1);
    const started = Date.now();
    const result = await provider.deploy(request("1.0.0", "r14:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.ok(Date.now() - started >= 900, "waited the second");

    const late = setup({ spec: { timeout: "2s" } });
    api.limit(1, 30);
    const given = await late.provider.deploy(request("1.0.0", "r15:deploy"));
    api.limit(0);
    assert.equal(given.ok, false);
    assert.equal(given.started, false);
    assert.match(
      given.message,
      /rate limited \(429: rate limit exceeded\); asked to wait 30s, past the deadline$/,
    );
  });

  it("asks again when the API has trouble, and reads a Machine back before posting its update again", async () => {
    const { provider } = setup();
    api.fail(2, 503, "GET");
    const read = await provider.deploy(request("1.0.0", "r18:deploy"));
    assert.equal(read.ok, true, read.message);

    const lost = setup();
    api.fail(1, 502, "POST");
    const result = await lost.provider.deploy(request("1.0.0", "r19:deploy"));
    api.fail(0);
    assert.equal(result.ok, true, result.message);
    const posts = api.requests.filter(
      (r) => r.method === "POST" && r.url.startsWith(`/v1/apps/${lost.app}/`),
    );
    assert.equal(posts.length, 4, "the refused update posted again once it was seen not applied");
    assert.equal(updatesOf(lost.app).length, 3);
  });

  it("says when the API cannot be reached, within the deadline", async () => {
    const { provider } = setup({ spec: { api: `http://127.0.0.1:${await closedPort()}`, timeout: "1s" } });
    const started = Date.now();
    const result = await provider.deploy(request("1.0.0", "r20:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(
      result.message,
      /^deploy of 1\.0\.0 failed: GET \/v1\/apps\/unit-\d+\/machines: no answer before the deadline \(connection refused\)$/,
    );
    assert.ok(Date.now() - started < 3000);
  });

  it("deploying what already runs updates nothing, and is recorded", async () => {
    const { provider, app, stateDir } = setup();
    assert.equal((await provider.deploy(request("1.0.0", "r16:deploy"))).ok, true);
    const again = await provider.deploy(request("1.0.0", "r17:deploy"));
    assert.equal(again.ok, true, again.message);
    assert.notEqual(again.replayed, true, "another key");
    assert.match(again.message, /^1\.0\.0 already on all 3 machines of .+, serving; nothing updated$/);
    assert.equal(updatesOf(app).length, 3);
    assert.deepEqual(
      (await readState(db.pool, stateDir)).deploys.map((d) => [d.key, d.result]),
      [
        ["r16:deploy", "ok"],
        ["r17:deploy", "ok"],
      ],
    );
  });

  it("moves the canary by Machine ratio, up, down and to all of them", async () => {
    const { provider, app } = setup({ machines: 4 });
    assert.equal((await provider.deploy(request("1.0.0", "c1:deploy"))).ok, true);
    await provider.markGood("1.0.0");
    const start = await provider.deploy({ ...request("2.0.0", "c2:deploy"), weight: 0.5 });
    assert.equal(start.ok, true, start.message);
    assert.match(start.message, /^canary 2\.0\.0 on 2 of 4 machines \(50%\) in .+, 1\.0\.0 on 2$/);
    assert.ok(
      start.output?.includes(
        "note: the machines are in 3 regions (ams, iad, syd); Fly's proxy routes each request to the closest region, so the canary's share of traffic differs by region",
      ),
      JSON.stringify(start.output),
    );
    const on = (version: string) =>
      machinesOf(app).filter((m) => m.config.image.endsWith(`:${version}`)).length;
    assert.equal(on("2.0.0"), 2);

    const down = await provider.canary!.shift({
      version: "2.0.0",
      weight: 0.25,
      key: "c2:canary:2",
      timeoutMs: 5000,
    });
    assert.equal(down.ok, true, down.message);
    assert.equal(down.weight, 0.25);
    assert.equal(down.message, "2.0.0 on 1 of 4 machines (25%), 1.0.0 on 3");
    assert.equal(on("2.0.0"), 1);
    const back = machinesOf(app).filter((m) => m.config.metadata?.gantry_key === "c2:canary:2");
    assert.deepEqual(
      back.map((m) => m.config.metadata?.gantry_version),
      ["1.0.0"],
      "moved back to the stable image",
    );

    const all = await provider.canary!.shift({
      version: "2.0.0",
      weight: 1,
      key: "c2:canary:3",
      timeoutMs: 5000,
    });
    assert.equal(all.ok, true, all.message);
    assert.equal(all.weight, 1);
    assert.equal(all.message, "promoted 2.0.0: all 4 machines");
    assert.equal(on("2.0.0"), 4);
    assert.equal((await provider.status()).version, "2.0.0");
  });

  it("a canary needs two Machines", async () => {
    const { provider, app } = setup({ machines: 1 });
    const result = await provider.deploy({ ...request("2.0.0", "c3:deploy"), weight: 0.1 });
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.equal(
      result.message,
      `a canary needs at least 2 machines and app ${app} has 1 (fly scale count 2)`,
    );
  });

  it("status says what runs when the image is not one the template makes", async () => {
    const { provider } = setup({ image: "ghcr.io/acme/other:5" });
    const status = await provider.status();
    assert.equal(status.version, undefined);
    assert.equal(status.healthy, true);
    assert.equal(status.message, "ghcr.io/acme/other:5 on all 3 machines; started, checks passing");
  });

  it("counts canary Machines: round(w·N), at least one, below N until promoted", () => {
    assert.equal(canaryCount(0.1, 10), 1);
    assert.equal(canaryCount(0.01, 10), 1);
    assert.equal(canaryCount(0.5, 10), 5);
    assert.equal(canaryCount(0.99, 10), 9);
    assert.equal(canaryCount(1, 10), 10);
    assert.equal(canaryCount(0.3, 4), 1);
  });

  it("reads a version out of an image", () => {
    const frame: [string, string] = ["registry.fly.io/shop:v", ""];
    assert.equal(imageVersion("registry.fly.io/shop:v1.4.2", frame), "1.4.2");
    assert.equal(imageVersion("registry.fly.io/shop:latest", frame), undefined);
    assert.equal(imageVersion("registry.fly.io/other:v1", frame), undefined);
  });

  it("its section is plain JSON with defaults, and refuses an image that does not change", () => {
    const spec = Deploy.parse(JSON.parse(JSON.stringify({ provider: "fly", app: "shop" })));
    assert.ok(spec.provider === "fly");
    assert.equal(spec.api, "https://api.machines.dev");
    assert.equal(spec.token, "env:FLY_API_TOKEN");
    assert.equal(spec.image, undefined);
    assert.throws(
      () => Deploy.parse({ provider: "fly", app: "shop", image: "registry.fly.io/shop:latest" }),
      /write \{\{ release\.version \}\} in it/,
    );
    assert.throws(() => Deploy.parse({ provider: "fly", app: "Shop_1" }), /bad Fly app name/);
  });
});
