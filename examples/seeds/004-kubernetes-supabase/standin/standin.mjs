#!/usr/bin/env node
/**
 * The stand-in of seed 004 (ValueCanvas: Kubernetes and Supabase): `node standin.mjs DIR`.
 *
 * Starts, on 127.0.0.1 and the fixed ports of ports.mjs: the Kubernetes API stand-in with the
 * namespace valuecanvas (its kubeconfig in DIR), the kubelet that runs the ready pods of api,
 * web and worker as real processes, the ingress in front of them, a real PostgreSQL (the
 * Supabase database) and Redis (the worker's queue), a real Prometheus scraping the pods, the
 * Grafana data source proxy in front of it, Slack (the #releases webhook), the GitHub API
 * (the Deploy workflow) and the Supabase Management API (backups, logs). Users' traffic runs
 * through the ingress. When everything answers it writes DIR/standin.json (the environment a
 * release needs; mode 600, it holds the secrets) and keeps running; SIGTERM or SIGINT stops
 * every process it started, the pods a release started included, and exits 0. DIR keeps the
 * pods' logs, the Slack messages (slack-releases.log) and the backups.
 *
 * Which versions are faulty is versions.json's: a version's `defect` makes that Deployment's
 * pods of that version behave so (never-ready: the rollout never finishes).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import YAML from "yaml";
import { startDebianPostgres } from "../../../../dist/test/helpers/debian-postgres.js";
import { startKubernetesApi } from "../../../../dist/test/helpers/kubernetes-api.js";
import { startPrometheus } from "../../../../dist/test/helpers/prometheus-server.js";
import { startRedis } from "../../../../dist/test/helpers/redis-server.js";
import { startSlackApi } from "../../../../dist/test/helpers/slack-api.js";
import { startGitHubApi } from "./github-api.mjs";
import { startGrafanaProxy } from "./grafana-proxy.mjs";
import { startIngress } from "./ingress.mjs";
import { startKubelet } from "./kubelet.mjs";
import { INGRESS_URL, NAMESPACE, POD_PORTS, PORTS } from "./ports.mjs";
import { startSupabaseApi } from "./supabase-api.mjs";
import { startTraffic } from "./traffic.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const say = (text) => process.stdout.write(`stand-in 004: ${text}\n`);

const dir = process.argv[2];
if (!dir) {
  process.stderr.write(
    "usage: node standin.mjs DIR   (DIR receives standin.json, the kubeconfig and the logs)\n",
  );
  process.exit(2);
}
const runbook = YAML.parse(fs.readFileSync(path.join(HERE, "..", "runbook.yaml"), "utf8"), { merge: true });
// The runbook's timeScale (every time on the release's timeline divided by it).
const timeScale = Number(runbook.environments?.standin?.timeScale ?? 1);
// The cluster's clock (progress deadlines: 300 s is the seed's `rollout status --timeout=5m`)
// runs faster too, but at most 20 times: the pods' processes start in real time, a few
// seconds on a busy machine, and a healthy rollout must not miss a deadline of 2 s.
const CLUSTER_SPEED = Math.min(timeScale, 20);
// A pod may be ready this long after it is created, once its process answers (kubelet.answers).
const READY_AFTER_MS = 300;
const { image, versions } = JSON.parse(fs.readFileSync(path.join(HERE, "versions.json"), "utf8"));

// --- every port free, before anything starts ------------------------------------------------
const wanted = [
  ...Object.entries(PORTS),
  ...Object.entries(POD_PORTS).flatMap(([d, ports]) => ports.map((p) => [`${d} pod`, p])),
];
for (const [what, port] of wanted) {
  const free = await new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
  if (!free) {
    process.stderr.write(
      `stand-in 004: port ${port} (${what}) on 127.0.0.1 is already taken. Stop what holds it ` +
        `(ss -ltnp 'sport = :${port}'; another stand-in of seed 004 still running?) and start again. Nothing was started.\n`,
    );
    process.exit(1);
  }
}

fs.mkdirSync(dir, { recursive: true });
fs.rmSync(path.join(dir, "standin.json"), { force: true });

// --- start, keeping how to stop each ---------------------------------------------------------
const stops = [];
let kubelet;
let stopping;
async function stopAll() {
  stopping ??= (async () => {
    for (const stop of stops.reverse())
      await Promise.resolve(stop()).catch((e) => say(`stopping: ${e.message}`));
  })();
  return stopping;
}
// Last resort when this process dies without its handlers: no pod outlives it.
process.on("exit", () => kubelet?.killNow());

const secret = (prefix) => `${prefix}${randomBytes(18).toString("hex")}`;
const tokens = {
  github: secret("ghp_"),
  supabase: secret("sbp_"),
  grafana: secret("glsa_"),
  slack: secret("xoxb-"),
  db: secret(""),
  replica: secret(""),
};

try {
  const postgres = await startDebianPostgres({ port: PORTS.postgres });
  stops.push(() => postgres.stop());
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  // The app's role owns its database; the replica reader may only read. (The server trusts
  // loopback connections, so the passwords are what a real URL would carry, not a lock.)
  await admin.query(`create role valuecanvas login password '${tokens.db}'`);
  await admin.query("create database valuecanvas owner valuecanvas");
  await admin.query(`create role valuecanvas_replica login password '${tokens.replica}'`);
  await admin.query("alter role valuecanvas_replica set default_transaction_read_only = on");
  await admin.end();
  const databaseUrl = `postgres://valuecanvas:${tokens.db}@127.0.0.1:${PORTS.postgres}/valuecanvas`;
  const replicaUrl = `postgres://valuecanvas_replica:${tokens.replica}@127.0.0.1:${PORTS.postgres}/valuecanvas`;

  const redis = await startRedis([], { port: PORTS.redis });
  stops.push(() => redis.stop());

  const k8s = await startKubernetesApi({
    port: PORTS.kubernetes,
    secondMs: 1000 / CLUSTER_SPEED,
    readyAfterMs: READY_AFTER_MS,
    readyWhen: (pod) => kubelet?.answers(pod) ?? false,
  });
  stops.push(() => k8s.stop());
  k8s.createNamespace(NAMESPACE);
  const kubeconfig = k8s.writeKubeconfig(path.join(dir, "kubeconfig"), { namespace: NAMESPACE });
  for (const [version, { defect }] of Object.entries(versions)) {
    if (defect) k8s.behave(`${image}:${version}`, defect.behaviour, defect.deployment);
  }

  kubelet = startKubelet({
    k8s,
    image,
    versions,
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, REDIS_URL: redis.url },
    logs: path.join(dir, "pods"),
  });
  stops.push(() => kubelet.stop());

  const ingress = await startIngress({ port: PORTS.ingress, kubelet, k8s, image });
  stops.push(() => ingress.stop());

  const targets = Object.values(POD_PORTS)
    .flat()
    .map((p) => `127.0.0.1:${p}`);
  const prometheus = await startPrometheus({ targets, port: PORTS.prometheus });
  stops.push(() => prometheus.stop());
  const grafana = await startGrafanaProxy({
    port: PORTS.grafana,
    token: tokens.grafana,
    prometheus: prometheus.url,
  });
  stops.push(() => grafana.stop());

  const slack = await startSlackApi(
    { token: tokens.slack, channels: ["#releases"], port: PORTS.slack },
    (stop) => stops.push(stop),
  );
  const webhook = slack.webhookUrl("#releases");
  // What #releases receives, as the channel shows it: in DIR/slack-releases.log and here.
  let shown = 0;
  const relay = setInterval(() => {
    for (const m of slack.messages.slice(shown)) {
      fs.appendFileSync(
        path.join(dir, "slack-releases.log"),
        `${new Date(m.at).toISOString()} #releases ${m.text}\n`,
      );
      say(`#releases: ${m.text}`);
    }
    shown = slack.messages.length;
  }, 200);
  stops.push(() => clearInterval(relay));

  const github = await startGitHubApi({ port: PORTS.github, token: tokens.github, versions });
  stops.push(() => github.stop());
  const supabase = await startSupabaseApi({
    port: PORTS.supabase,
    token: tokens.supabase,
    projectRef: runbook.environments?.standin?.vars?.supabase_project_ref,
    postgres,
    databaseUrl,
    dir,
  });
  stops.push(() => supabase.stop());
  supabase.backup();

  const traffic = startTraffic(INGRESS_URL);
  stops.push(() => traffic.stop());

  const env = {
    PATH: `${path.join(HERE, "bin")}${path.delimiter}${process.env.PATH}`,
    KUBECONFIG: kubeconfig,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: tokens.github,
    SUPABASE_API_URL: `http://127.0.0.1:${PORTS.supabase}`,
    SUPABASE_ACCESS_TOKEN: tokens.supabase,
    GRAFANA_PROMETHEUS_TOKEN: tokens.grafana,
    DATABASE_URL: databaseUrl,
    DATABASE_REPLICA_URL: replicaUrl,
    SLACK_RELEASES_WEBHOOK: webhook,
  };
  const secrets = [
    "GITHUB_TOKEN",
    "SUPABASE_ACCESS_TOKEN",
    "GRAFANA_PROMETHEUS_TOKEN",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "SLACK_RELEASES_WEBHOOK",
  ];
  fs.writeFileSync(
    path.join(dir, "standin.json"),
    `${JSON.stringify({ env, secrets, version: `${INGRESS_URL}/_standin/version` }, null, 2)}\n`,
    { mode: 0o600 },
  );
  say(
    `ready (timeScale ${timeScale}): ingress ${INGRESS_URL}, Kubernetes API ${k8s.url}, Prometheus ${prometheus.url}`,
  );
  say(
    `faulty versions: ${
      Object.entries(versions)
        .filter(([, v]) => v.defect)
        .map(([v, { defect }]) => `${v} (${defect.deployment} ${defect.behaviour})`)
        .join(", ") || "none"
    }`,
  );
  say(
    `environment for gantry release in ${path.join(dir, "standin.json")}; SIGTERM or Ctrl-C stops everything`,
  );
} catch (e) {
  process.stderr.write(`stand-in 004: could not start: ${e.message}\n`);
  await stopAll();
  process.exit(1);
}

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, async () => {
    say(`${signal}: stopping`);
    await stopAll();
    say("stopped");
    process.exit(0);
  });
}
