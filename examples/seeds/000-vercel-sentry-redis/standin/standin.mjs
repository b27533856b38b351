#!/usr/bin/env node
/**
 * The stand-in of seed 000: `node standin/standin.mjs DIR` starts, on 127.0.0.1 and the fixed
 * ports below, everything the runbook's `standin` environment talks to, with its files under
 * DIR; writes DIR/standin.json once everything answers; stops all of it on SIGTERM or Ctrl-C.
 * What plays what, and why: ../README.md.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import YAML from "yaml";
import { startDebianPostgres } from "../../../../dist/test/helpers/debian-postgres.js";
import { startPrometheus } from "../../../../dist/test/helpers/prometheus-server.js";
import { startRedis } from "../../../../dist/test/helpers/redis-server.js";
import { startSentryApi } from "../../../../dist/test/helpers/sentry-api.js";
import { startSlackApi } from "../../../../dist/test/helpers/slack-api.js";
import { startVercelApi } from "../../../../dist/test/helpers/vercel-api.js";
import { aliasServer } from "./alias.mjs";
import { appProcesses } from "./apps.mjs";
import { ALIAS, DEPLOYMENTS, PORTS, SENTRY, TEAM } from "./layout.mjs";
import { startTraffic } from "./traffic.mjs";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node standin/standin.mjs DIR   (DIR: where the stand-in keeps its files)\n");
  process.exit(2);
}
const root = path.resolve(dir);
const say = (line) => process.stdout.write(`standin: ${line}\n`);

/** The runbook's timeScale for the standin environment, which the app's defect times follow. */
function timeScale() {
  const runbook = new URL("../runbook.yaml", import.meta.url);
  const doc = YAML.parse(fs.readFileSync(runbook, "utf8"), { merge: true });
  return Number(process.env.STANDIN_TIME_SCALE ?? doc?.environments?.standin?.timeScale ?? 1);
}

/** Every fixed port must be free before anything starts, so that a failed start leaves nothing. */
async function checkPorts() {
  const all = [...Object.entries(PORTS), ...DEPLOYMENTS.map((d) => [`app ${d.version}`, d.port])];
  for (const [what, port] of all) {
    const free = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (!free) {
      throw new Error(
        `port ${port} (${what}) on 127.0.0.1 is already taken: stop what listens there (ss -ltnp 'sport = :${port}'), ` +
          "for example an earlier stand-in, then start again",
      );
    }
  }
}

const stops = []; // run in reverse order at shutdown
const cleanup = (stop) => stops.push(stop);
let stopping;
async function shutdown() {
  stopping ??= (async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`standin: while stopping: ${err.message}\n`);
      }
    }
  })();
  return stopping;
}

async function start() {
  await checkPorts();
  fs.mkdirSync(root, { recursive: true });
  // PostgreSQL runs as the user postgres when this runs as root: it must be able to enter DIR.
  fs.chmodSync(root, 0o755);
  const secret = () => randomBytes(18).toString("base64url");
  const tokens = { vercel: secret(), sentry: secret(), prometheus: secret(), slack: secret(), dsn: secret() };
  const scale = timeScale();

  const postgres = await startDebianPostgres({
    port: PORTS.postgres,
    dir: path.join(root, "postgres"),
    password: secret(),
  });
  cleanup(() => postgres.stop());
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  const exists = await admin.query("select 1 from pg_database where datname = 'dateplan'");
  if (exists.rowCount === 0) await admin.query("create database dateplan");
  await admin.end();
  const databaseUrl = postgres.url.replace(/\/postgres$/, "/dateplan");

  // The seed's Redis: noeviction, persistence on (append-only file), a memory ceiling to measure.
  const redisServer = await startRedis(
    ["--maxmemory", "64mb", "--maxmemory-policy", "noeviction", "--appendonly", "yes"],
    { port: PORTS.redis, dir: path.join(root, "redis") },
  );
  cleanup(() => redisServer.stop());
  // The password is set over the connection, never on a command line others can read.
  const redisPassword = secret();
  const redisAdmin = createClient({ url: redisServer.url });
  await redisAdmin.connect();
  await redisAdmin.configSet("requirepass", redisPassword);
  await redisAdmin.disconnect();
  const redisUrl = `redis://:${redisPassword}@127.0.0.1:${PORTS.redis}`;

  await startSentryApi(
    {
      token: tokens.sentry,
      org: SENTRY.org,
      projects: [SENTRY.project],
      dsnKey: tokens.dsn,
      port: PORTS.sentry,
    },
    cleanup,
  );
  const slack = await startSlackApi(
    { token: tokens.slack, channels: ["#on-call"], port: PORTS.slack },
    cleanup,
  );
  const vercel = await startVercelApi({ token: tokens.vercel, teams: [TEAM], port: PORTS.vercel }, cleanup);
  // CI's `vercel deploy --prebuilt --prod --skip-domain --meta gantryVersion=…`, once per version.
  const now = Date.now();
  const made = DEPLOYMENTS.map((d, i) =>
    vercel.addDeployment({
      project: "dateplan",
      owner: TEAM.id,
      meta: { gantryVersion: d.version, githubCommitRef: `v${d.version}` },
      createdAt: now - (DEPLOYMENTS.length - i) * 3_600_000,
    }),
  );
  // What serves before the first release: the oldest version, aliased through the API itself.
  const assigned = await fetch(`${vercel.url}/v2/deployments/${made[0].id}/aliases?teamId=${TEAM.id}`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.vercel}`, "content-type": "application/json" },
    body: JSON.stringify({ alias: ALIAS }),
  });
  if (!assigned.ok) throw new Error(`could not assign the alias: ${await assigned.text()}`);

  const apps = appProcesses({
    dir: root,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      SENTRY_DSN: `http://${tokens.dsn}@127.0.0.1:${PORTS.sentry}/${SENTRY.project.id}`,
      SENTRY_ENVIRONMENT: "standin",
      TIME_SCALE: String(scale),
    },
  });
  cleanup(() => apps.stopAll());
  const portOf = (version) => DEPLOYMENTS.find((d) => d.version === version)?.port;
  const alias = aliasServer({ vercel, alias: ALIAS, owner: TEAM.id, portOf, apps });
  await new Promise((resolve, reject) => {
    alias.once("error", reject);
    alias.listen(PORTS.alias, "127.0.0.1", resolve);
  });
  cleanup(
    () =>
      new Promise((resolve) => {
        alias.close(resolve);
        alias.closeAllConnections();
      }),
  );

  const prometheus = await startPrometheus({
    targets: DEPLOYMENTS.map((d) => `127.0.0.1:${d.port}`),
    port: PORTS.prometheus,
    dir: path.join(root, "prometheus"),
  });
  cleanup(() => prometheus.stop());

  const base = `http://127.0.0.1:${PORTS.alias}`;
  const traffic = startTraffic(base);
  cleanup(() => traffic.stop());
  // Ready once Prometheus has seen flows and critical requests move (rates need two scrapes).
  await prometheus.waitForSample("sum(rate(flow_started_total[1m]))", (v) => v > 0);
  await prometheus.waitForSample('sum(rate(http_requests_total{critical="true"}[1m]))', (v) => v > 0);

  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    VERCEL_TOKEN: tokens.vercel,
    SENTRY_AUTH_TOKEN: tokens.sentry,
    PROMETHEUS_TOKEN: tokens.prometheus,
    SLACK_ONCALL_WEBHOOK: slack.webhookUrl("#on-call"),
  };
  const file = path.join(root, "standin.json");
  fs.writeFileSync(
    file,
    `${JSON.stringify({ env, secrets: Object.keys(env), version: `${base}/api/version` }, null, 2)}\n`,
    { mode: 0o600 },
  );
  say(`alias ${ALIAS} at ${base}, serving ${DEPLOYMENTS[0].version}; timeScale ${scale}`);
  say(
    `Vercel API 127.0.0.1:${PORTS.vercel}, Sentry 127.0.0.1:${PORTS.sentry}, ` +
      `Prometheus 127.0.0.1:${PORTS.prometheus}, Redis 127.0.0.1:${PORTS.redis}, PostgreSQL 127.0.0.1:${PORTS.postgres}, ` +
      `Slack 127.0.0.1:${PORTS.slack}`,
  );
  say(`ready: the environment for gantry is in ${file}; Ctrl-C stops everything`);
}

process.on("SIGINT", () => shutdown().then(() => process.exit(0)));
process.on("SIGTERM", () => shutdown().then(() => process.exit(0)));
try {
  await start();
} catch (err) {
  process.stderr.write(`standin: ${err.message}\n`);
  await shutdown();
  process.exit(1);
}
