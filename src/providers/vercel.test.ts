/**
 * What only the vercel provider does, against the stand-in of Vercel's REST API
 * (test/helpers/vercel-api.ts): a prebuilt deployment found by its meta and target, the alias
 * template filled the way the engine fills it (shell-quoted) and read back, team scoping, a
 * refused token (redacted), a 429 waited out, a rollback to the recorded deployment, a build
 * resumed by its key after the process that started it was killed, and the schema's
 * defaults (seed 000's deploy section).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { startVercelApi, type VercelApi } from "../../test/helpers/vercel-api.js";
import { Deploy } from "../runbook/schema/flow.js";
import { renderTemplate } from "../runbook/template.js";
import { canaryProblem } from "./index.js";
import { sleep } from "./state.js";
import { readState, request, type TestDatabase, tempDir, testDatabase, testOptions } from "./test-support.js";
import type { ProviderOptions } from "./types.js";
import { createVercelProvider, type VercelSpec } from "./vercel.js";

const TOKEN = "tok-s3cr3t-vercel";
const TEAM = { id: "team_test000000000000000001", slug: "acme" };
const stops: Array<() => unknown> = [];
const dirs: string[] = [];
let db: TestDatabase;
let api: VercelApi;

before(async () => {
  db = await testDatabase();
  api = await startVercelApi(
    {
      token: TOKEN,
      teams: [TEAM],
      buildMs: 120,
      repos: { "acme/web": { outcome: "ready" }, "acme/slow": { outcome: "ready", buildMs: 1500 } },
    },
    (stop) => stops.push(stop),
  );
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  await db?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A service of its own (project = the folder's name), with the engine's way of filling templates. */
function setup(
  fields: Record<string, unknown> = {},
  extra: Partial<ProviderOptions> = {},
  names: { project?: string; alias?: string } = {},
) {
  const stateDir = tempDir("vercel-unit");
  dirs.push(stateDir);
  const project = names.project ?? basename(stateDir);
  const alias = names.alias ?? `${project}.example.com`.toLowerCase();
  const spec = Deploy.parse({
    provider: "vercel",
    api: api.url,
    project,
    scope: TEAM.slug,
    alias: "{{ env.vars.vercel_alias }}",
    token: "env:VERCEL_TOKEN",
    timeout: "5s",
    ...fields,
  }) as VercelSpec;
  const options = testOptions(db.pool, stateDir, {
    env: { VERCEL_TOKEN: TOKEN },
    // As the engine fills a field that is not a command: plain text.
    text: (template, values) =>
      renderTemplate(template, {
        env: { vars: { vercel_alias: alias } },
        release: { version: values.version, ref: `v${values.version}` },
      }),
    ...extra,
  });
  return { provider: createVercelProvider(spec, options), stateDir, project, alias, spec };
}

describe("vercel provider", () => {
  it("prebuilt: finds the production deployment whose meta names the version and moves the alias", async () => {
    const { provider, stateDir, project, alias } = setup();
    // CI built 1.0.0 twice (a preview and a production build) and 1.0.1.
    api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "1.0.0" }, target: null });
    const prod = api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "v1.0.0" } });
    api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "1.0.1" } });
    const result = await provider.deploy(request("1.0.0", "p-1:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.equal(api.aliased(alias, TEAM.id)?.id, prod.id, "the production build, not the preview one");
    assert.match(
      result.message,
      new RegExp(`^deployed 1\\.0\\.0 on ${alias.replaceAll(".", "\\.")} \\(deployment ${prod.id}`),
    );
    const details = await testOptions(db.pool, stateDir).state.details("1.0.0");
    assert.equal(details?.deploymentId, prod.id);
    const status = await provider.status();
    assert.equal(status.version, "1.0.0");
    assert.equal(status.healthy, true, status.message);
    // Every request named the team by its slug.
    assert.ok(api.requests.every((r) => !r.url.includes(project) || r.url.includes("slug=acme")));
  });

  it("prebuilt: no deployment of the version is a clear refusal that touched nothing", async () => {
    const { provider, project } = setup();
    api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "2.0.0" }, target: null });
    const result = await provider.deploy(request("2.0.0", "p-2:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(
      result.message,
      /has no production deployment with meta\.gantryVersion = 2\.0\.0; build one with `vercel deploy --prebuilt --prod --skip-domain --meta gantryVersion=2\.0\.0`/,
    );
  });

  it("prebuilt: a build that failed is not aliased, and nothing was touched", async () => {
    const { provider, project, alias } = setup();
    api.addDeployment({
      project,
      owner: TEAM.id,
      meta: { gantryVersion: "3.0.0" },
      state: "error",
      buildMs: 0,
    });
    const result = await provider.deploy(request("3.0.0", "p-3:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(result.message, /^3\.0\.0: deployment dpl_\w+ failed \(BUILD_FAILED: /);
    assert.equal(api.aliased(alias, TEAM.id), undefined);
  });

  it("versionMeta reads another meta key (githubCommitRef, with its leading v)", async () => {
    const { provider, project } = setup({ versionMeta: "githubCommitRef" });
    api.addDeployment({ project, owner: TEAM.id, meta: { githubCommitRef: "v4.1.0" } });
    const result = await provider.deploy(request("4.1.0", "p-4:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.equal((await provider.status()).version, "4.1.0");
  });

  it("team scoping: a team ID is sent as teamId; an unknown team is refused; the account sees none of the team's", async () => {
    const byId = setup({
      scope: TEAM.id,
      source: "git",
      git: { repo: "acme/web", ref: "v{{ release.version }}" },
    });
    const ok = await byId.provider.deploy(request("1.0.0", "s-1:deploy"));
    assert.equal(ok.ok, true, ok.message);
    assert.ok(api.requests.some((r) => r.url.includes(`teamId=${TEAM.id}`)));

    const stranger = setup({ scope: "other-team" });
    const refused = await stranger.provider.deploy(request("1.0.0", "s-2:deploy"));
    assert.equal(refused.ok, false);
    assert.equal(refused.started, false);
    assert.match(
      refused.message,
      /Vercel answered 403 for GET \/v4\/aliases\/.+: forbidden: You don't have permission to access this team \(check deploy\.token and deploy\.scope\)/,
    );

    const personal = setup({ scope: undefined }, {}, { project: byId.project, alias: byId.alias });
    const status = await personal.provider.status();
    assert.equal(status.healthy, false);
    assert.match(status.message, /is not assigned/);
  });

  it("a refused token says so, changes nothing and never shows the token", async () => {
    const { provider } = setup({}, { env: { VERCEL_TOKEN: "wrong-s3cr3t" } });
    const result = await provider.deploy(request("1.0.0", "t-1:deploy"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(
      result.message,
      /Vercel answered 401 for GET \/v4\/aliases\/[^:]+: forbidden: Not authorized \(check deploy\.token\)/,
    );
    assert.ok(!JSON.stringify(result).includes("s3cr3t"));
    const status = await provider.status();
    assert.equal(status.healthy, false);
    assert.match(status.message, /Vercel answered 401/);
  });

  it("waits out a 429 as Retry-After asks", async () => {
    const { provider, project } = setup();
    api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "1.0.0" } });
    const lines: string[] = [];
    api.throttle(2, 1);
    const started = Date.now();
    const result = await provider.deploy(request("1.0.0", "r-1:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.ok(Date.now() - started >= 1900, "two waits of a second");
    lines.push(...(result.output ?? []));
    assert.ok(
      lines.some((l) => /rate limited by Vercel; waiting 1s/.test(l)),
      JSON.stringify(lines),
    );
  });

  it("sends a request again after a 5xx, within the timeout", async () => {
    const { provider, project } = setup();
    api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "1.0.0" } });
    api.failNext(2);
    const result = await provider.deploy(request("1.0.0", "f-1:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.ok(
      result.output?.some((l) =>
        /answered 503 for GET .*: internal_server_error: .*; trying again in \d+ ms/.test(l),
      ),
      JSON.stringify(result.output),
    );
  });

  it("rolls back to the deployment recorded for the version, once", async () => {
    const { provider, stateDir, alias } = setup({
      source: "git",
      git: { repo: "acme/web", ref: "v{{ release.version }}" },
    });
    const first = await provider.deploy(request("1.0.0", "b-1:deploy"));
    assert.equal(first.ok, true, first.message);
    const v1 = api.aliased(alias, TEAM.id)!.id;
    await provider.markGood("1.0.0");
    const second = await provider.deploy(request("2.0.0", "b-2:deploy"));
    assert.equal(second.ok, true, second.message);
    assert.equal(second.previousVersion, "1.0.0");
    assert.equal(api.aliased(alias, TEAM.id)?.meta.githubCommitRef, "v2.0.0", "built from the release tag");

    const back = await provider.rollback(request("1.0.0", "b-2:rollback"));
    assert.equal(back.ok, true, back.message);
    assert.equal(api.aliased(alias, TEAM.id)?.id, v1, "the same deployment as before, not a rebuild");
    const again = await provider.rollback(request("1.0.0", "b-2:rollback"));
    assert.equal(again.replayed, true);
    const project = basename(stateDir);
    assert.deepEqual(api.counters(project), { created: 2, switches: 3, rollbacks: 1 });
    assert.equal((await readState(db.pool, stateDir)).deploys.length, 3);
  });

  it("a rollback with no deployment known for the version touches nothing", async () => {
    const { provider } = setup();
    const result = await provider.rollback(request("0.9.0", "n-1:rollback"));
    assert.equal(result.ok, false);
    assert.equal(result.started, false);
    assert.match(result.message, /^no deployment of 0\.9\.0 is known/);
  });

  it("status: an alias whose deployment was deleted is unhealthy", async () => {
    const { provider, project, alias } = setup();
    const d = api.addDeployment({ project, owner: TEAM.id, meta: { gantryVersion: "1.0.0" } });
    assert.equal((await provider.deploy(request("1.0.0", "d-1:deploy"))).ok, true);
    api.deployments.delete(d.id);
    const status = await provider.status();
    assert.equal(status.healthy, false);
    assert.match(
      status.message,
      new RegExp(`on ${alias.replaceAll(".", "\\.")}: deployment ${d.id} DELETED`),
    );
  });

  it("a process killed mid-build: the next call with the key carries on with that build, no second one", async () => {
    const { stateDir, project, alias } = setup();
    const spec = {
      provider: "vercel",
      api: api.url,
      project,
      scope: TEAM.slug,
      alias,
      token: "env:VERCEL_TOKEN",
      source: "git",
      git: { repo: "acme/slow", ref: "v{{ release.version }}" },
      timeout: "10s",
    };
    const dist = import.meta.dirname;
    const script = join(stateDir, "child.mjs");
    writeFileSync(
      script,
      [
        `const { default: pg } = await import(${JSON.stringify(import.meta.resolve("pg"))});`,
        `const { createProvider } = await import(${JSON.stringify(pathToFileURL(join(dist, "index.js")).href)});`,
        `const { Deploy } = await import(${JSON.stringify(pathToFileURL(join(dist, "../runbook/schema/flow.js")).href)});`,
        `const { testOptions } = await import(${JSON.stringify(pathToFileURL(join(dist, "test-support.js")).href)});`,
        `const pool = new pg.Pool({ connectionString: ${JSON.stringify(db.url)} });`,
        `const spec = Deploy.parse(${JSON.stringify(spec)});`,
        `const provider = createProvider(spec, testOptions(pool, ${JSON.stringify(stateDir)}, { env: { VERCEL_TOKEN: ${JSON.stringify(TOKEN)} } }));`,
        "await provider.deploy({ version: '1.0.0', key: 'k-1:deploy', timeoutMs: 10000 });",
        "console.log('finished');",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    for (let i = 0; i < 100 && api.counters(project).created === 0; i++) await sleep(50);
    assert.equal(api.counters(project).created, 1, out);
    child.kill("SIGKILL");
    await exited;
    assert.ok(!out.includes("finished"), "killed before the build ended");
    assert.equal(api.aliased(alias, TEAM.id), undefined);

    const resumed = createVercelProvider(
      Deploy.parse(spec) as VercelSpec,
      testOptions(db.pool, stateDir, { env: { VERCEL_TOKEN: TOKEN } }),
    );
    const result = await resumed.deploy(request("1.0.0", "k-1:deploy", 10_000));
    assert.equal(result.ok, true, result.message);
    assert.ok(
      result.output?.some((l) => /carrying on with deployment dpl_\w+ created for this step earlier/.test(l)),
    );
    assert.equal(api.operations(project), 1, "one build");
    const { deploys, current } = await readState(db.pool, stateDir);
    assert.equal(current, "1.0.0");
    assert.deepEqual(
      deploys.map((d) => [d.key, d.result]),
      [["k-1:deploy", "ok"]],
    );
  });
});

describe("vercel spec", () => {
  it("seed 000's deploy section is valid with the defaults: a prebuilt deployment, api.vercel.com unless the environment names one", () => {
    const runbook = YAML.parse(
      readFileSync(
        new URL("../../../examples/seeds/000-vercel-sentry-redis/runbook.yaml", import.meta.url),
        "utf8",
      ),
    ) as { deploy: unknown };
    const spec = Deploy.parse(runbook.deploy) as VercelSpec;
    assert.equal(spec.source, "prebuilt");
    // The API is the environment's (the stand-in's locally), api.vercel.com where none is set.
    assert.equal(renderTemplate(spec.api, { env: { vars: {} } }), "https://api.vercel.com");
    assert.equal(
      renderTemplate(spec.api, { env: { vars: { vercel_api: "http://127.0.0.1:18101" } } }),
      "http://127.0.0.1:18101",
    );
    assert.equal(spec.versionMeta, "gantryVersion");
    assert.equal(spec.target, "production");
    assert.equal(spec.alias, "{{ env.vars.vercel_alias }}");
  });

  it("source: git needs a git section", () => {
    const r = Deploy.safeParse({ provider: "vercel", project: "p", alias: "a", token: "t", source: "git" });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /source: git needs a `git` section/);
  });

  it("canary steps are refused with the reason", () => {
    const spec = Deploy.parse({
      provider: "vercel",
      project: "p",
      alias: "a",
      token: "t",
      canary: [{ weight: "10%" }, { weight: "100%" }],
    });
    assert.match(canaryProblem(spec) ?? "", /no weighted traffic split for an alias/);
  });
});
