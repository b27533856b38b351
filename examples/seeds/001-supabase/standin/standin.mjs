#!/usr/bin/env node
/**
 * The stand-in of seed 001 (estate-vault on Supabase): `node standin.mjs DIR` starts, on
 * 127.0.0.1 and the fixed ports below, a real Redis (sessions), Debian's PostgreSQL playing
 * Supabase, a real Prometheus scraping the app, a Slack stand-in for #releases, and the
 * hosting platform (platform.mjs) with two environments, `standin` (production) and
 * `standin-staging`, each serving estate-vault 1.3.0, what runs before the seed's releases. When all of it answers it writes DIR/standin.json (the contract in
 * examples/seeds/README.md) and runs until SIGTERM or SIGINT, then stops everything it started,
 * the app versions the releases deployed included. Its files stay in DIR.
 *
 * Needs `npm run build` first (the servers come from dist/test/helpers).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEED = path.dirname(HERE);
const HELPERS = path.join(SEED, "../../../dist/test/helpers");

const PORTS = {
  app: 18200,
  staging: 18220,
  platform: 18201,
  redis: 18202,
  postgres: 18203,
  prometheus: 18204,
  slack: 18205,
  // verify:release boots the app here (standin/verify-release.mjs).
  verify: 18290,
};
// One port per running version of the app in each environment: the stable one, a canary.
const DEPLOYMENT_PORTS = Array.from({ length: 10 }, (_, i) => 18210 + i);
const STAGING_DEPLOYMENT_PORTS = Array.from({ length: 9 }, (_, i) => 18221 + i);
const INITIAL_VERSION = "1.3.0";
// The runbook's vars.smoke_user of each environment.
const SMOKE_USER = "smoke@example.com";
const STAGING_SMOKE_USER = "smoke+staging@example.com";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node standin.mjs DIR   (DIR holds the stand-in's files and standin.json)");
  process.exit(2);
}

await checkPorts();
// The team's backup command (backup.run) writes its dumps to backups/ in the seed folder.
fs.mkdirSync(path.join(SEED, "backups"), { recursive: true });
fs.mkdirSync(dir, { recursive: true });
const DIR = fs.realpathSync(dir);
// PostgreSQL runs as the user postgres when this runs as root: it must be able to enter DIR.
fs.chmodSync(DIR, 0o755);
// The helpers keep their servers' files in temporary folders: here, under DIR.
process.env.TMPDIR = DIR;

const { startRedis } = await import(path.join(HELPERS, "redis-server.js"));
const { startDebianPostgres } = await import(path.join(HELPERS, "debian-postgres.js"));
const { startPrometheus } = await import(path.join(HELPERS, "prometheus-server.js"));
const { startSlackApi } = await import(path.join(HELPERS, "slack-api.js"));
const { createCi } = await import("./ci.mjs");
const { startPlatform } = await import("./platform.mjs");
const { ensureSmokeFixtures, setUpSupabase } = await import("./supabase.mjs");

const secret = () => randomBytes(18).toString("base64url");
const stops = [];
let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  // Latest first; one that hangs does not keep the others running.
  for (const stop of stops.reverse()) {
    const bounded = new Promise((resolve) => setTimeout(resolve, 15_000).unref());
    await Promise.race([Promise.resolve(stop()).catch(() => undefined), bounded]);
  }
  process.exit(code);
}
process.on("SIGTERM", () => stopAll(0));
process.on("SIGINT", () => stopAll(0));

try {
  const redisPassword = secret();
  const redis = await startRedis(["--requirepass", redisPassword], { port: PORTS.redis });
  stops.push(() => redis.stop());
  // One Redis, a database number per environment.
  const redisUrl = `redis://:${redisPassword}@127.0.0.1:${PORTS.redis}/0`;
  const stagingRedisUrl = `redis://:${redisPassword}@127.0.0.1:${PORTS.redis}/1`;

  const postgres = await startDebianPostgres({ port: PORTS.postgres, password: secret() });
  stops.push(() => postgres.stop());
  const smokePassword = secret();
  // One Supabase project per environment: here a database (and role) each.
  const supabase = (database) =>
    setUpSupabase(postgres.url, {
      port: PORTS.postgres,
      database,
      password: secret(),
      smokeUsers: [SMOKE_USER, STAGING_SMOKE_USER],
      smokePassword,
    });
  const databaseUrl = await supabase("estate_vault");
  const stagingDatabaseUrl = await supabase("estate_vault_staging");

  const slack = await startSlackApi({ token: secret(), channels: ["#releases"], port: PORTS.slack }, (stop) =>
    stops.push(stop),
  );
  const slackWebhook = slack.webhookUrl("#releases");
  const slackLog = path.join(DIR, "slack-messages.json");
  let shown = 0;
  const keepSlack = () => {
    if (slack.messages.length === shown) return;
    shown = slack.messages.length;
    fs.writeFileSync(
      slackLog,
      JSON.stringify(
        slack.messages.map((m) => ({ at: m.at, text: m.text })),
        null,
        2,
      ),
    );
  };
  const slackTimer = setInterval(keepSlack, 500);
  stops.push(() => {
    clearInterval(slackTimer);
    keepSlack();
  });

  const prometheus = await startPrometheus({
    targets: [...DEPLOYMENT_PORTS, ...STAGING_DEPLOYMENT_PORTS].map((p) => `127.0.0.1:${p}`),
    port: PORTS.prometheus,
  });
  stops.push(() => prometheus.stop());

  const deployToken = secret();
  const githubToken = secret();
  const appEnv = {
    PATH: process.env.PATH,
    SESSION_SECRET: secret(),
    DEFECTS_FILE: path.join(HERE, "defects.json"),
  };
  const platform = await startPlatform({
    apiPort: PORTS.platform,
    token: deployToken,
    appFile: path.join(HERE, "app", "server.mjs"),
    logDir: DIR,
    ci: { token: githubToken, ...createCi(SEED) },
    environments: [
      {
        name: "standin",
        routerPort: PORTS.app,
        instancePorts: DEPLOYMENT_PORTS,
        appEnv: { ...appEnv, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, SESSION_STORE: "redis" },
        afterStart: () => ensureSmokeFixtures(databaseUrl, SMOKE_USER),
      },
      {
        // "Production requires Redis-backed sessions" (seed section 4): staging keeps them in memory.
        name: "standin-staging",
        routerPort: PORTS.staging,
        instancePorts: STAGING_DEPLOYMENT_PORTS,
        appEnv: {
          ...appEnv,
          DATABASE_URL: stagingDatabaseUrl,
          REDIS_URL: stagingRedisUrl,
          SESSION_STORE: "memory",
        },
        afterStart: () => ensureSmokeFixtures(stagingDatabaseUrl, STAGING_SMOKE_USER),
      },
    ],
  });
  stops.push(() => platform.stop());
  await platform.environment("standin").deploy(INITIAL_VERSION);
  await platform.environment("standin-staging").deploy(INITIAL_VERSION);

  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    STAGING_DATABASE_URL: stagingDatabaseUrl,
    STAGING_REDIS_URL: stagingRedisUrl,
    SMOKE_USER_PASSWORD: smokePassword,
    PROMETHEUS_TOKEN: secret(),
    GITHUB_TOKEN: githubToken,
    SLACK_RELEASES_WEBHOOK: slackWebhook,
    ESTATE_VAULT_DEPLOY_API: `http://127.0.0.1:${PORTS.platform}`,
    ESTATE_VAULT_DEPLOY_TOKEN: deployToken,
    // For the stand-in's tools: gh reads CI runs here; the e2e suite signs in with the account
    // of the environment it tests (by base URL).
    ESTATE_VAULT_GITHUB_API: `http://127.0.0.1:${PORTS.platform}/github`,
    E2E_USERS: JSON.stringify({
      [`http://127.0.0.1:${PORTS.app}`]: SMOKE_USER,
      [`http://127.0.0.1:${PORTS.staging}`]: STAGING_SMOKE_USER,
    }),
    // gh and npx (wscat, playwright) are the stand-in's own, offline: see standin/bin.
    PATH: `${path.join(HERE, "bin")}${path.delimiter}${process.env.PATH}`,
  };
  const secrets = [
    "DATABASE_URL",
    "REDIS_URL",
    "STAGING_DATABASE_URL",
    "STAGING_REDIS_URL",
    "SMOKE_USER_PASSWORD",
    "PROMETHEUS_TOKEN",
    "GITHUB_TOKEN",
    "SLACK_RELEASES_WEBHOOK",
    "ESTATE_VAULT_DEPLOY_TOKEN",
  ];
  const version = `http://127.0.0.1:${PORTS.platform}/v1/envs/standin/version`;
  fs.writeFileSync(
    path.join(DIR, "standin.json"),
    `${JSON.stringify({ env, secrets, version }, null, 2)}\n`,
    {
      mode: 0o600,
    },
  );
  console.log(
    `estate-vault stand-in ready: ${INITIAL_VERSION} serves standin at http://127.0.0.1:${PORTS.app} and standin-staging at http://127.0.0.1:${PORTS.staging}`,
  );
  console.log(
    `  platform ${PORTS.platform}, redis ${PORTS.redis}, postgres ${PORTS.postgres}, prometheus ${PORTS.prometheus}, slack ${PORTS.slack}, app versions ${DEPLOYMENT_PORTS[0]}-${DEPLOYMENT_PORTS.at(-1)} and ${STAGING_DEPLOYMENT_PORTS[0]}-${STAGING_DEPLOYMENT_PORTS.at(-1)}`,
  );
  console.log(`  ${path.join(DIR, "standin.json")} (secrets inside); Ctrl-C or SIGTERM stops everything`);
} catch (err) {
  console.error(`the stand-in did not start: ${err.message}`);
  await stopAll(1);
}

/** Every port must be free before anything starts, so a taken one leaves nothing behind. */
async function checkPorts() {
  const wanted = [
    ...Object.entries(PORTS),
    ...[...DEPLOYMENT_PORTS, ...STAGING_DEPLOYMENT_PORTS].map((p) => ["app version", p]),
  ];
  for (const [what, port] of wanted) {
    const free = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (!free) {
      console.error(
        `port ${port} (${what}) on 127.0.0.1 is already in use: stop what holds it (ss -ltnp 'sport = :${port}') or an earlier stand-in (kill -TERM <its pid>), then start again. Nothing was started.`,
      );
      process.exit(1);
    }
  }
}
