/**
 * The deploy recipes in examples/recipes/ (Render, Heroku, Netlify, Replit, plain SSH), run
 * through Gantry's real command provider: each recipe's deploy.yaml is parsed by the Deploy
 * schema, its templates are filled the way the engine fills them (shell-quoted, secrets
 * included), and its scripts, copied into a git checkout the way a team copies them, run
 * against a stand-in of the vendor built from its API documentation (test/helpers/
 * recipe-apis.ts, replit-remote.ts) or a real sshd on 127.0.0.1 (sshd-server.ts).
 *
 * For each recipe: deploy 1.0.0, deploy 2.0.0 (was 1.0.0), the same key again deploys nothing,
 * status healthy on 2.0.0, rollback to 1.0.0 and the platform shows it; a wrong token fails
 * with a clear message, and no output line ever holds a token (the provider's redaction is
 * off here, so a script that printed one would be caught).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import YAML from "yaml";
import { listen } from "../src/probes/test-support.js";
import { createProvider } from "../src/providers/index.js";
import {
  request,
  SERVICE_PATH,
  type TestDatabase,
  tempDir,
  testDatabase,
  testOptions,
} from "../src/providers/test-support.js";
import type { Provider } from "../src/providers/types.js";
import { renderCommand } from "../src/runbook/command-template.js";
import { Deploy } from "../src/runbook/schema/flow.js";
import {
  type HerokuApi,
  type NetlifyApi,
  type RenderApi,
  startHerokuApi,
  startNetlifyApi,
  startRenderApi,
} from "./helpers/recipe-apis.js";
import { type ReplitRemote, startReplitRemote } from "./helpers/replit-remote.js";
import { type SshServer, startSshd } from "./helpers/sshd-server.js";

const REPO = resolve(dirname(SERVICE_PATH), "..", "..");
const TIMEOUT_MS = 15_000;
const stops: Array<() => unknown> = [];
const cleanup = (stop: () => unknown) => stops.push(stop);
let db: TestDatabase;

before(async () => {
  db = await testDatabase();
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  await db?.close();
});

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Gantry Test",
      GIT_AUTHOR_EMAIL: "test@gantry.invalid",
      GIT_COMMITTER_NAME: "Gantry Test",
      GIT_COMMITTER_EMAIL: "test@gantry.invalid",
    },
  }).trim();

/** A team's checkout: VERSION committed and tagged v1.0.0 and v2.0.0, the recipe in scripts/<target>/. */
function checkout(target: string) {
  const dir = tempDir(`recipe-${target}-repo`);
  cleanup(() => rmSync(dir, { recursive: true, force: true }));
  git(dir, "init", "--quiet", "--initial-branch=main");
  const shas: Record<string, string> = {};
  for (const version of ["1.0.0", "2.0.0"]) {
    writeFileSync(join(dir, "VERSION"), `${version}\n`);
    git(dir, "add", "VERSION");
    git(dir, "commit", "--quiet", "-m", `Release ${version}`);
    git(dir, "tag", `v${version}`);
    shas[version] = git(dir, "rev-parse", "HEAD");
  }
  const recipe = join(REPO, "examples", "recipes", target);
  mkdirSync(join(dir, "scripts"), { recursive: true });
  cpSync(recipe, join(dir, "scripts", target), { recursive: true });
  return { dir, shas };
}

/** The recipe's deploy.yaml: its secrets (references) and its deploy section, parsed by the schema. */
function recipe(target: string) {
  const doc = YAML.parse(readFileSync(join(REPO, "examples", "recipes", target, "deploy.yaml"), "utf8"));
  const spec = Deploy.parse(doc.deploy);
  assert.equal(spec.provider, "command");
  return { spec, secrets: doc.secrets as Record<string, string> };
}

interface World {
  target: string;
  cwd: string;
  env: Record<string, string>;
  url?: string;
  vars: Record<string, string>;
  /** Secret values by name, as the engine resolves the recipe's references. */
  secrets: Record<string, string>;
  /** Values that must never appear in any output line. */
  hidden: string[];
}

/** The command provider for the recipe, in a fresh provider state; every output line is kept. */
function provider(world: World): { provider: Provider; lines: string[] } {
  const { spec, secrets } = recipe(world.target);
  for (const name of Object.keys(world.secrets))
    assert.ok(secrets[name], `deploy.yaml declares secret ${name}`);
  const localDir = tempDir(`recipe-${world.target}`);
  cleanup(() => rmSync(localDir, { recursive: true, force: true }));
  const lines: string[] = [];
  const options = testOptions(db.pool, localDir, {
    cwd: world.cwd,
    env: world.env,
    // As the engine does: every {{ … }} reaches the command as a quoted shell word.
    render: (template, values) =>
      renderCommand(template, {
        release: {
          version: values.version,
          ...(values.previousVersion ? { previousVersion: values.previousVersion } : {}),
        },
        env: { name: "test", url: world.url ?? "", vars: world.vars },
        secrets: world.secrets,
      }),
    // No redaction: a script that printed a token would show it here.
    redact: (line) => line,
    onLine: (line) => lines.push(line),
  });
  const created = createProvider(spec, options);
  assert.ok(created);
  return { provider: created, lines };
}

function assertHidden(world: World, lines: string[], ...texts: string[]) {
  for (const secret of world.hidden) {
    for (const text of [...lines, ...texts]) {
      assert.ok(!text.includes(secret), `a token was printed: ${JSON.stringify(text)}`);
    }
  }
}

/**
 * The common walk: deploy 1.0.0, deploy 2.0.0, the same key again, status, rollback to 1.0.0.
 * `deploys()` counts what the platform was asked to deploy; `serving()` is what it serves.
 */
async function walk(
  world: World,
  platform: { deploys(): number; serving(): string | undefined | Promise<string | undefined> },
  build: (version: string) => void = () => undefined,
) {
  const { provider: p, lines } = provider(world);
  build("1.0.0");
  const first = await p.deploy(request("1.0.0", "rel-1:deploy", TIMEOUT_MS));
  assert.equal(first.ok, true, `${first.message}\n${lines.join("\n")}`);
  assert.match(first.message, /^deployed 1\.0\.0 in /);
  assert.equal(await platform.serving(), "1.0.0");
  assert.equal(platform.deploys(), 1);

  build("2.0.0");
  const second = await p.deploy(request("2.0.0", "rel-2:deploy", TIMEOUT_MS));
  assert.equal(second.ok, true, `${second.message}\n${lines.join("\n")}`);
  assert.equal(second.previousVersion, "1.0.0");
  assert.match(second.message, /\(was 1\.0\.0\)$/);
  assert.equal(await platform.serving(), "2.0.0");
  assert.equal(platform.deploys(), 2);

  const replay = await p.deploy(request("2.0.0", "rel-2:deploy", TIMEOUT_MS));
  assert.equal(replay.ok, true, replay.message);
  assert.equal(replay.replayed, true, replay.message);
  assert.equal(platform.deploys(), 2, "the replayed key deployed nothing");

  const status = await p.status();
  assert.equal(status.healthy, true, status.message);
  assert.equal(status.version, "2.0.0");

  const back = await p.rollback(request("1.0.0", "rel-2:rollback", TIMEOUT_MS));
  assert.equal(back.ok, true, `${back.message}\n${lines.join("\n")}`);
  assert.match(back.message, /^rolled back to 1\.0\.0 in .*\(was 2\.0\.0\)$/);
  assert.equal(await platform.serving(), "1.0.0");
  const after = await p.status();
  assert.equal(after.healthy, true, after.message);
  assert.equal(after.version, "1.0.0");
  assertHidden(world, lines);
}

/** A deploy with `secrets` instead of the right ones fails with `expected`, printing neither token. */
async function refused(
  world: World,
  secrets: Record<string, string>,
  expected: RegExp,
  deploys: () => number,
) {
  const before = deploys();
  const bad = { ...world, secrets, hidden: [...world.hidden, ...Object.values(secrets)] };
  const { provider: p, lines } = provider(bad);
  const result = await p.deploy(request("2.0.0", "rel-bad:deploy", TIMEOUT_MS));
  assert.equal(result.ok, false, result.message);
  assert.match(result.message, expected);
  assert.equal(deploys(), before, "nothing was deployed");
  assertHidden(bad, lines, result.message, ...(result.output ?? []));
}

describe("recipe: Render", () => {
  const TOKEN = "rnd_render_s3cr3t_0123456789";
  const SERVICE = "srv-recipe0001";
  let api: RenderApi;
  let world: World;

  before(async () => {
    const repo = checkout("render");
    api = await startRenderApi(
      {
        token: TOKEN,
        services: [SERVICE],
        commits: Object.fromEntries(Object.entries(repo.shas).map(([v, sha]) => [sha, `Release ${v}`])),
        buildMs: 200,
      },
      cleanup,
    );
    world = {
      target: "render",
      cwd: repo.dir,
      env: { RENDER_API: api.url, RENDER_POLL_SECONDS: "0.1", RENDER_WAIT_SECONDS: "20" },
      vars: { render_service_id: SERVICE },
      secrets: { render_token: TOKEN },
      hidden: [TOKEN],
    };
  });

  it("deploys, replays, reports and rolls back through Render's deploys and rollback endpoints", async () => {
    const commitVersion = (sha: string | undefined) =>
      sha ? git(world.cwd, "tag", "--points-at", sha).replace(/^v/, "") : undefined;
    await walk(world, {
      deploys: () => api.counts.deploys,
      serving: () => commitVersion(api.live(SERVICE)?.commit.id),
    });
    // The rollback reused the 1.0.0 build: a rollback deploy, not a third build.
    assert.equal(api.counts.rollbacks, 1);
    assert.equal(api.live(SERVICE)?.trigger, "rollback");
    assert.deepEqual(
      api.deploys(SERVICE).map((d) => d.status),
      ["live", "deactivated", "deactivated"],
    );
  });

  it("a wrong API key is a clear refusal that never shows the key", async () => {
    await refused(
      world,
      { render_token: "rnd_wrong_s3cr3t_key" },
      /Render refused the API key \(401 on POST \/services\/srv-recipe0001\/deploys: unauthorized\); check RENDER_API_KEY/,
      () => api.counts.deploys,
    );
  });

  it("an unknown service is a clear 404", async () => {
    const { provider: p } = provider({ ...world, vars: { render_service_id: "srv-missing" } });
    const result = await p.deploy(request("2.0.0", "rel-404:deploy", TIMEOUT_MS));
    assert.equal(result.ok, false);
    assert.match(
      result.message,
      /not found \(404 on POST \/services\/srv-missing\/deploys: service not found\)/,
    );
  });
});

describe("recipe: Heroku", () => {
  const TOKEN = "HRKU-heroku-s3cr3t-0123456789";
  const APP = "shop-recipe";
  let api: HerokuApi;
  let world: World;

  before(async () => {
    const repo = checkout("heroku");
    api = await startHerokuApi({ token: TOKEN, apps: [APP], buildMs: 200, releaseMs: 100 }, cleanup);
    // The release tarballs, as GitHub's archive links would serve them.
    const tarballs = http.createServer((req, res) => {
      const m = /^\/sources\/v(\d+\.\d+\.\d+)\.tar\.gz$/.exec(req.url ?? "");
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      const body = execFileSync("git", ["archive", "--format=tar.gz", `v${m[1]}`], { cwd: repo.dir });
      res.writeHead(200, { "content-type": "application/gzip" }).end(body);
    });
    const port = await listen(tarballs, cleanup);
    world = {
      target: "heroku",
      cwd: repo.dir,
      env: { HEROKU_API: api.url, HEROKU_POLL_SECONDS: "0.1", HEROKU_WAIT_SECONDS: "20" },
      vars: { heroku_app: APP, source_base: `http://127.0.0.1:${port}/sources` },
      secrets: { heroku_token: TOKEN },
      hidden: [TOKEN],
    };
  });

  it("builds from the tarball, replays, reports and rolls back with a Platform API rollback", async () => {
    const served = () => {
      const slug = api.current(APP)?.slug?.id;
      return api.builds(APP).find((b) => b.slug?.id === slug)?.source_blob.version ?? undefined;
    };
    await walk(world, { deploys: () => api.counts.builds, serving: served });
    assert.equal(api.counts.rollbacks, 1);
    const releases = api.releases(APP);
    assert.equal(releases.length, 3);
    assert.equal(releases.at(-1)?.description, "Rollback to v1");
    assert.equal(releases.at(-1)?.current, true);
    assert.ok(
      api.builds(APP).every((b) => b.source_blob.url.startsWith(world.vars.source_base!)),
      "the builds downloaded the release tarballs",
    );
  });

  it("a wrong token is a clear refusal that never shows the token", async () => {
    await refused(
      world,
      { heroku_token: "HRKU-wrong-s3cr3t" },
      /Heroku refused the API token \(401 on POST \/apps\/shop-recipe\/builds: Invalid credentials provided\.\); check HEROKU_API_KEY/,
      () => api.counts.builds,
    );
  });

  it("a tarball that cannot be downloaded fails the build, and says so", async () => {
    const { provider: p } = provider({
      ...world,
      vars: { ...world.vars, source_base: "http://127.0.0.1:9/none" },
    });
    const result = await p.deploy(request("2.0.0", "rel-nosource:deploy", TIMEOUT_MS));
    assert.equal(result.ok, false);
    assert.match(result.message, /heroku: build [0-9a-f-]+ failed/);
  });
});

describe("recipe: Netlify", () => {
  const TOKEN = "nfp_netlify_s3cr3t_0123456789";
  const SITE = "5a1e0b2c-0000-4000-8000-000000000001";
  let api: NetlifyApi;
  let world: World;
  let repo: { dir: string };

  before(async () => {
    repo = checkout("netlify");
    api = await startNetlifyApi({ token: TOKEN, sites: [SITE], buildMs: 200 }, cleanup);
    world = {
      target: "netlify",
      cwd: repo.dir,
      env: { NETLIFY_API: api.url, NETLIFY_POLL_SECONDS: "0.1", NETLIFY_WAIT_SECONDS: "20" },
      vars: { netlify_site_id: SITE },
      secrets: { netlify_token: TOKEN },
      hidden: [TOKEN],
    };
  });

  /** What the published deploy's zip holds in index.html. */
  function publishedPage(): string | undefined {
    const zip = api.published(SITE)?.zip;
    if (!zip) return undefined;
    const dir = tempDir("netlify-zip");
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "site.zip");
    writeFileSync(file, zip);
    return execFileSync("unzip", ["-p", file, "index.html"], { encoding: "utf8" });
  }

  it("uploads zip deploys, replays, reports and restores the earlier deploy", async () => {
    // The team's build writes dist/ for the release being deployed.
    const dist = join(repo.dir, "dist");
    mkdirSync(dist, { recursive: true });
    const build = (version: string) => writeFileSync(join(dist, "index.html"), `<h1>shop ${version}</h1>\n`);
    await walk(
      world,
      { deploys: () => api.counts.deploys, serving: () => api.published(SITE)?.title?.replace(/^v/, "") },
      build,
    );
    assert.equal(api.counts.restores, 1);
    assert.match(publishedPage() ?? "", /shop 1\.0\.0/);
    assert.deepEqual(
      api.deploys(SITE).map((d) => d.title),
      ["v2.0.0", "v1.0.0"],
    );
  });

  it("a wrong token is a clear refusal that never shows the token", async () => {
    await refused(
      world,
      { netlify_token: "nfp_wrong_s3cr3t" },
      /Netlify refused the access token \(401 on POST \/sites\/[^/]+\/deploys\?title=v2\.0\.0: Access Denied: Invalid token\); check NETLIFY_AUTH_TOKEN/,
      () => api.counts.deploys,
    );
  });

  it("a site whose auto publishing is locked gets the deploy published explicitly", async () => {
    const locked = await startNetlifyApi(
      { token: TOKEN, sites: [SITE], locked: [SITE], buildMs: 100 },
      cleanup,
    );
    const { provider: p } = provider({ ...world, env: { ...world.env, NETLIFY_API: locked.url } });
    const result = await p.deploy(request("2.0.0", "rel-locked:deploy", TIMEOUT_MS));
    assert.equal(result.ok, true, result.message);
    assert.equal(locked.published(SITE)?.title, "v2.0.0");
    assert.equal(locked.counts.restores, 1);
  });
});

describe("recipe: Replit", () => {
  const TOKEN = "ghp_replit_s3cr3t_0123456789";
  let remote: ReplitRemote;
  let world: World;

  before(async () => {
    const repo = checkout("replit");
    remote = await startReplitRemote({ token: TOKEN, publishMs: 200 }, cleanup);
    world = {
      target: "replit",
      cwd: repo.dir,
      env: { REPLIT_POLL_SECONDS: "0.1", REPLIT_WAIT_SECONDS: "20" },
      url: remote.appUrl,
      vars: { replit_remote: remote.gitUrl, replit_branch: "main" },
      secrets: { replit_git_token: TOKEN },
      hidden: [TOKEN, Buffer.from(`x-access-token:${TOKEN}`).toString("base64")],
    };
  });

  it("pushes the release commit, waits for the App to serve it, replays and rolls back by a push", async () => {
    // Before the rollback, every push was a deploy.
    await walk(world, { deploys: () => remote.counts.pushes, serving: () => remote.served() });
    // Three pushes: 1.0.0, 2.0.0, and the rollback to 1.0.0; the branch is back on v1.0.0.
    assert.equal(remote.counts.pushes, 3);
    assert.equal(remote.head(), git(world.cwd, "rev-parse", "v1.0.0^{commit}"));
    assert.match(execFileSync("git", ["--git-dir", remote.bare, "tag"], { encoding: "utf8" }), /v2\.0\.0/);
  });

  it("a wrong token is a clear refusal that never shows the token", async () => {
    const pushes = remote.counts.pushes;
    await refused(
      world,
      { replit_git_token: "ghp_wrong_s3cr3t" },
      /the push of v2\.0\.0 to the App's remote was refused; check REPLIT_GIT_TOKEN/,
      () => remote.counts.pushes - pushes,
    );
    assert.ok(remote.counts.refused > 0);
  });
});

describe("recipe: SSH", () => {
  let sshd: SshServer;
  let world: World;
  let app: string;

  before(async () => {
    sshd = await startSshd(cleanup);
    const repo = checkout("ssh");
    // The host: a clone of the application whose origin has the release tags.
    const host = tempDir("recipe-ssh-host");
    cleanup(() => rmSync(host, { recursive: true, force: true }));
    const origin = join(host, "origin.git");
    git(host, "clone", "--quiet", "--bare", repo.dir, origin);
    app = join(host, "srv", "shop");
    mkdirSync(app, { recursive: true });
    git(app, "clone", "--quiet", origin, "repo");
    world = {
      target: "ssh",
      cwd: repo.dir,
      env: { SSH_OPTS: `-p ${sshd.port}` },
      vars: {
        ssh_host: sshd.host,
        app_dir: app,
        restart: 'printf "%s\\n" "$(readlink current)" >> restarts.log',
        known_hosts: sshd.knownHosts,
      },
      secrets: { deploy_key: sshd.key },
      hidden: keyLines(sshd.key),
    };
  });

  /** The base64 lines of a private key: none may be printed. */
  function keyLines(key: string) {
    return key.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
  }

  const restarts = () => {
    const log = join(app, "restarts.log");
    return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
  };

  it("unpacks releases on the host, switches the symlink, replays and switches back", async () => {
    const serving = () => readFileSync(join(app, "current", "VERSION"), "utf8").trim();
    // Before the rollback, every restart was a deploy's.
    await walk(world, { deploys: () => restarts().length, serving });
    assert.deepEqual(restarts(), ["releases/1.0.0", "releases/2.0.0", "releases/1.0.0"]);
    assert.deepEqual(readdirSync(join(app, "releases")).sort(), ["1.0.0", "2.0.0"]);
  });

  it("a key the host does not accept is a clear refusal that never shows the key", async () => {
    const count = restarts().length;
    await refused(
      world,
      { deploy_key: sshd.otherKey },
      /ssh: cannot log in to .*@127\.0\.0\.1 \(ssh exit 255\); check the deploy key/,
      () => restarts().length - count,
    );
    for (const line of keyLines(sshd.otherKey)) assert.ok(!restarts().join("\n").includes(line));
  });

  it("an unknown host key is refused, not trusted", async () => {
    const dir = tempDir("recipe-ssh-known");
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const empty = join(dir, "known_hosts");
    writeFileSync(empty, "");
    const { provider: p } = provider({ ...world, vars: { ...world.vars, known_hosts: empty } });
    const result = await p.deploy(request("2.0.0", "rel-hostkey:deploy", TIMEOUT_MS));
    assert.equal(result.ok, false);
    assert.match(result.message, /the host key of .* is unknown or changed/);
  });
});
