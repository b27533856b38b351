#!/usr/bin/env node
import { execFileSync } from "node:child_process";
/**
 * The stand-in of seed 003 (Pocket Philosopher): `node standin.mjs DIR` starts, on 127.0.0.1
 * and the ports of ports.mjs, real Redis and PostgreSQL from Debian's packages, PostHog
 * (the app's project and staging's), the AI providers' APIs, GitHub (Actions and environment
 * secrets), the Supabase Management API, Slack webhooks, the hosting of the app, and its users.
 * When every one answers it writes DIR/standin.json (the env `gantry release` needs) and runs
 * until SIGTERM or SIGINT, then stops everything it started, app versions included, and exits 0.
 * DIR keeps what a person may want afterwards: standin.json, apps/<version>.log, slack.log and
 * backups/. Build Gantry first (npm run build): the vendor stand-ins are its test helpers.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { debianPostgresBin, startDebianPostgres } from "../../../../dist/test/helpers/debian-postgres.js";
import { startPosthogApi } from "../../../../dist/test/helpers/posthog-api.js";
import { startRedis } from "../../../../dist/test/helpers/redis-server.js";
import { startSlackApi } from "../../../../dist/test/helpers/slack-api.js";
import { PORTS } from "./ports.mjs";
import { startAiProviders } from "./services/ai-providers.mjs";
import { seedDatabase } from "./services/database.mjs";
import { createGithub } from "./services/github.mjs";
import { createHosting } from "./services/hosting.mjs";
import { createSupabaseApi } from "./services/supabase.mjs";
import { startTraffic } from "./services/traffic.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const dirArg = process.argv[2];
if (!dirArg) {
  console.error("usage: node standin.mjs DIR   (DIR gets standin.json, the apps' logs, slack.log, backups/)");
  process.exit(2);
}
const dir = path.resolve(dirArg);
const stops = [];
const cleanup = (stop) => stops.push(stop);
const secret = (prefix) => `${prefix}${randomBytes(18).toString("hex")}`;

/** Every port must be free before anything starts, so a taken one leaves nothing behind. */
async function checkPorts() {
  for (const [what, port] of Object.entries(PORTS)) {
    const free = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (!free) {
      throw new Error(
        `port ${port} (${what}) is already in use on 127.0.0.1: stop what holds it ` +
          `(ss -ltnp 'sport = :${port}' shows it; an earlier stand-in: send it SIGTERM) and start again`,
      );
    }
  }
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      cleanup(() => new Promise((done) => server.close(() => done())));
      resolve();
    });
  });
}

/**
 * Staging's telemetry: the day before the stand-in started, then live, a completed chat every
 * 100 ms and a failed request for every 60 (a stable ratio of about 98%), so that the
 * pre-flight ratio check finds events in its look-back window however compressed it is.
 */
function stagingTelemetry(api) {
  const now = Date.now();
  for (let h = 24; h >= 1; h--) {
    api.add("i_chat_completed", 120, now - h * 3600_000);
    api.add("i_request_failed", 2, now - h * 3600_000);
  }
  let n = 0;
  const timer = setInterval(() => {
    api.add("i_chat_completed", 1);
    if (++n % 60 === 0) api.add("i_request_failed", 1);
  }, 100);
  return () => clearInterval(timer);
}

async function start() {
  await checkPorts();
  fs.mkdirSync(path.join(dir, "backups"), { recursive: true });
  const keys = {
    github: secret("ghp_"),
    supabase: secret("sbp_"),
    posthogPersonal: secret("phx_"),
    posthogProject: secret("phc_"),
    redis: secret(""),
    postgres: secret(""),
    openai: secret("sk-proj-"),
    anthropic: secret("sk-ant-"),
    together: secret("tgp_"),
  };

  const redis = await startRedis(["--requirepass", keys.redis, "--maxmemory", "64mb"], { port: PORTS.redis });
  cleanup(() => redis.stop());
  const redisUrl = `redis://:${keys.redis}@127.0.0.1:${PORTS.redis}`;

  const postgres = await startDebianPostgres({ port: PORTS.postgres, password: keys.postgres });
  cleanup(() => postgres.stop());
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await seedDatabase(client);
  await client.end();
  // Supabase's scheduled backup, for real: a dump of the database as it is now.
  const backupAt = new Date().toISOString();
  // The password goes in the environment, not on pg_dump's command line.
  const dumpUrl = `postgres://postgres@127.0.0.1:${PORTS.postgres}/postgres`;
  execFileSync(
    path.join(debianPostgresBin(), "pg_dump"),
    ["--dbname", dumpUrl, "--file", path.join(dir, "backups", `${backupAt.replace(/[:.]/g, "-")}.sql`)],
    { env: { ...process.env, PGPASSWORD: keys.postgres } },
  );
  const backups = [{ is_physical_backup: false, status: "COMPLETED", inserted_at: backupAt }];

  const posthog = await startPosthogApi(
    {
      token: keys.posthogPersonal,
      project: "22222",
      projectApiKey: keys.posthogProject,
      port: PORTS.posthog,
    },
    cleanup,
  );
  const staging = await startPosthogApi(
    { token: keys.posthogPersonal, project: "11111", port: PORTS.posthogStaging },
    cleanup,
  );
  cleanup(stagingTelemetry(staging));

  // Slack's rate limit is per channel; Gantry spaces its messages, a burst of 10 is plenty.
  const slack = await startSlackApi(
    {
      token: secret("xoxb-"),
      channels: ["#releases", "#incidents"],
      rateLimit: { perSecond: 5, burst: 10 },
      port: PORTS.slack,
    },
    cleanup,
  );
  let shown = 0;
  const slackLog = setInterval(() => {
    for (const m of slack.messages.slice(shown)) {
      const channel = m.channel === slack.channelId("#incidents") ? "#incidents" : "#releases";
      fs.appendFileSync(path.join(dir, "slack.log"), `${new Date().toISOString()} ${channel}\n${m.text}\n\n`);
    }
    shown = slack.messages.length;
  }, 500);
  cleanup(() => clearInterval(slackLog));

  await listen(
    startAiProviders({
      keys: { openai: keys.openai, anthropic: keys.anthropic, together: keys.together },
    }),
    PORTS.ai,
  );
  await listen(
    createSupabaseApi({ token: keys.supabase, projectRef: "ppstandinref", backups: () => backups }),
    PORTS.supabase,
  );

  const aiUrl = `http://127.0.0.1:${PORTS.ai}`;
  const appEnv = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    REDIS_URL: redisUrl,
    SUPABASE_DB_URL: postgres.url,
    AI_API_URL: aiUrl,
    OPENAI_API_KEY: keys.openai,
    ANTHROPIC_API_KEY: keys.anthropic,
    TOGETHER_API_KEY: keys.together,
    POSTHOG_HOST: posthog.url,
    POSTHOG_API_KEY: keys.posthogProject,
  };
  const hosting = createHosting({ dir, port: PORTS.app, env: appEnv });
  cleanup(() => hosting.stop());
  // The GitHub environments' secrets and variables: the same names in staging and the stand-in.
  const names = {
    secrets: [
      "NEXT_PUBLIC_SUPABASE_ANON_KEY",
      "SUPABASE_SERVICE_ROLE_KEY",
      "OPENAI_API_KEY",
      "ANTHROPIC_API_KEY",
      "TOGETHER_API_KEY",
      "RESEND_API_KEY",
      "POSTHOG_API_KEY",
      "REDIS_URL",
    ],
    variables: ["NEXT_PUBLIC_SUPABASE_URL", "POSTHOG_HOST", "AI_API_URL"],
    updatedAt: new Date().toISOString(),
  };
  await listen(
    createGithub({
      token: keys.github,
      environments: { staging: names, standin: names },
      hosting: { standin: hosting },
    }),
    PORTS.github,
  );

  // Production serves a version before any release: the one versions.json names.
  const { serving } = JSON.parse(fs.readFileSync(path.join(here, "versions.json"), "utf8"));
  await hosting.deploy(serving);
  // 20 questions a second: under the compressed timeline the first sample after the deploy
  // (100 ms) must already find chat events, or the ratio rule holds the run for a person.
  cleanup(startTraffic({ url: `http://127.0.0.1:${PORTS.app}`, everyMs: 50 }));

  const env = {
    PATH: `${path.join(here, "bin")}${path.delimiter}${process.env.PATH}`,
    // Nothing is downloaded at run time: npx finds the seed's own `playwright`.
    npm_config_offline: "true",
    GH_HOST: `127.0.0.1:${PORTS.github}`,
    GITHUB_TOKEN: keys.github,
    SUPABASE_ACCESS_TOKEN: keys.supabase,
    SUPABASE_DB_URL: postgres.url,
    REDIS_URL: redisUrl,
    POSTHOG_PERSONAL_API_KEY: keys.posthogPersonal,
    SLACK_RELEASES_WEBHOOK: slack.webhookUrl("#releases"),
    SLACK_INCIDENTS_WEBHOOK: slack.webhookUrl("#incidents"),
    // What the app needs when a test or e2e run starts it from the working tree.
    AI_API_URL: aiUrl,
    OPENAI_API_KEY: keys.openai,
    ANTHROPIC_API_KEY: keys.anthropic,
    TOGETHER_API_KEY: keys.together,
  };
  const secrets = Object.keys(env).filter(
    (k) => !["PATH", "npm_config_offline", "GH_HOST", "AI_API_URL"].includes(k),
  );
  const standin = { env, secrets, version: `http://127.0.0.1:${PORTS.app}/api/version` };
  fs.writeFileSync(path.join(dir, "standin.json"), `${JSON.stringify(standin, null, 2)}\n`, { mode: 0o600 });
}

let stopping = false;
async function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch (err) {
      console.error(`stopping: ${err.message}`);
    }
  }
}

process.on("SIGTERM", () => stopAll().then(() => process.exit(0)));
process.on("SIGINT", () => stopAll().then(() => process.exit(0)));

try {
  await start();
  console.log(`seed 003 stand-in ready: ${path.join(dir, "standin.json")} (app on 127.0.0.1:${PORTS.app})`);
} catch (err) {
  console.error(`seed 003 stand-in did not start: ${err.message}`);
  await stopAll();
  process.exit(1);
}
