#!/usr/bin/env node
// The stand-in for seed 002 (RuR2 on Replit + Neon + Stripe): `node standin.mjs DIR`.
// Starts, on 127.0.0.1 and the fixed ports below, everything the runbook's `standin`
// environment talks to, with its files under DIR; writes DIR/standin.json once everything
// answers; stops everything it started (the App's versions included) on SIGTERM or SIGINT.
// The README next to the runbook says what each part plays.
import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash, createHmac, randomBytes, scryptSync } from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { leaf, testCa } from "../../../../dist/test/helpers/certs.js";
import { startDebianPostgres } from "../../../../dist/test/helpers/debian-postgres.js";
import { startDnsServer } from "../../../../dist/test/helpers/dns-server.js";
import { startRedis } from "../../../../dist/test/helpers/redis-server.js";
import { startSlackApi } from "../../../../dist/test/helpers/slack-api.js";
import { messageStore, smtpServer, statusPageServer } from "./messages.mjs";
import { neonServer } from "./neon.mjs";
import { startReplit } from "./replit.mjs";
import { stripeServer } from "./stripe.mjs";
import { startTraffic } from "./traffic.mjs";

export const PORTS = {
  app: 18300, // the published App (HTTP): environments.standin.url
  https: 18301, // the published App over HTTPS (the TLS check; the App's stored files)
  git: 18302, // the git remote Replit deploys from
  stripe: 18303, // Stripe's API
  neon: 18304, // Neon's API (neonctl)
  smtp: 18305, // email channels
  statusPage: 18306, // the status page's webhook
  dns: 18307, // DNS (UDP): the App's host name
  slotA: 18310, // the App's processes: Replit starts each version on the spare one
  slotB: 18311,
  staging: 18312, // the staging App (the release candidate, for the T-1h staging health check)
  slack: 18313, // Slack's Web API (#releases, #engineering, #incidents)
  postgres: 18320,
  redis: 18321,
};
const HOST = "rur2-standin.replit.test";
const PROJECT = "rur2-neon-482913";
// Versions in the team's repository: 1.9.0 serves when the stand-in starts; releases.json
// releases 2.0.0 (healthy) and 2.1.0 (carries the defect in defects.json).
const VERSIONS = ["1.9.0", "2.0.0", "2.1.0"];
// The App's rolling window for its metrics: the seed's 5 minutes divided by the runbook's
// timeScale (environments.standin.timeScale) is 7 ms, shorter than the one-second samples Gantry
// takes on a compressed timeline; one second, so the App's error rate moves as fast as the rules
// that read it.
const METRICS_WINDOW_MS = 1_000;

const here = path.dirname(new URL(import.meta.url).pathname);
const seed = path.dirname(here);
const log = (line) => process.stdout.write(`standin: ${line}\n`);

const dirArg = process.argv[2];
if (!dirArg) {
  process.stderr.write(
    "usage: node standin.mjs DIR   (DIR: where the stand-in keeps its files, e.g. /var/tmp/rur2-standin)\n",
  );
  process.exit(2);
}
const DIR = path.resolve(dirArg);

// --- Every port must be free before anything starts.

function tcpFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
function udpFree(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => resolve(false));
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
const taken = [];
for (const [name, port] of Object.entries(PORTS)) {
  if (!(await (name === "dns" ? udpFree(port) : tcpFree(port)))) taken.push(`${port} (${name})`);
}
if (taken.length) {
  process.stderr.write(
    `standin: port ${taken.join(", ")} on 127.0.0.1 is taken; nothing was started. Stop what holds it (ss -ltnup | grep 183) or an earlier stand-in (its pid is in DIR/standin.pid), then start again.\n`,
  );
  process.exit(1);
}

// --- Start, remembering how to stop each part; a failure stops what already started.

fs.mkdirSync(DIR, { recursive: true });
fs.chmodSync(DIR, 0o755); // Debian's PostgreSQL runs as `postgres` and must enter it
// Each start begins afresh (its secrets are new): what an earlier stand-in left is removed.
for (const part of ["standin.json", "postgres", "replit", "neon", "rur2", "messages", "staging-files"]) {
  fs.rmSync(path.join(DIR, part), { recursive: true, force: true });
}
fs.writeFileSync(path.join(DIR, "standin.pid"), `${process.pid}\n`);
const stops = [];
let stopping;
async function stopAll(code) {
  stopping ??= (async () => {
    // Each part gets 10 seconds to stop, so one stuck part never keeps the others running.
    for (const stop of stops.reverse()) {
      const limit = new Promise((resolve) =>
        setTimeout(() => resolve(log("a part did not stop within 10s")), 10_000).unref(),
      );
      await Promise.race([Promise.resolve().then(stop), limit]).catch((e) =>
        log(`while stopping: ${e.message}`),
      );
    }
    fs.rmSync(path.join(DIR, "standin.json"), { force: true });
    fs.rmSync(path.join(DIR, "standin.pid"), { force: true });
    log("stopped");
    process.exit(code);
  })();
  return stopping;
}
process.on("SIGTERM", () => stopAll(0));
process.on("SIGINT", () => stopAll(0));

const listen = (server, port) =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      stops.push(
        () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      );
      resolve();
    });
  });
const secret = (prefix = "") => `${prefix}${randomBytes(24).toString("base64url")}`;
const sha256 = (v) => createHash("sha256").update(v).digest("hex");

try {
  // Secrets of this stand-in, new at every start; standin.json hands them to gantry.
  const s = {
    dbPassword: secret(),
    stagingDbPassword: secret(),
    jwt: secret(),
    stripeKey: secret("sk_test_"),
    webhookSecret: secret("whsec_"),
    admin: secret("rur2_admin_"),
    test: secret("rur2_test_"),
    smoke: secret(),
    neon: secret("neon_"),
    snyk: secret("snyk_"),
    git: secret("ghp_"),
    smtp: secret(),
    slack: secret("xoxb-"),
    statusPage: `whsec_${randomBytes(24).toString("base64")}`,
    users: Object.fromEntries([2, 3, 4, 5].map((i) => [`user${i}@rur2.test`, secret()])),
  };

  // Certificates: a CA of the stand-in (trusted by gantry through NODE_EXTRA_CA_CERTS) and the
  // App's certificate for its host name (and 127.0.0.1, for SMTP's STARTTLS).
  const ca = testCa("RuR2 Stand-in CA");
  const tls = leaf({ name: HOST, ips: ["127.0.0.1"], ca, notAfter: 90 });
  fs.writeFileSync(path.join(DIR, "ca.pem"), ca.cert);

  // PostgreSQL (Neon's databases): production `rur2` and `rur2_staging`, owned by roles with
  // passwords (scram-sha-256 on 127.0.0.1; only the server's own superuser is trusted).
  const postgres = await startDebianPostgres({ port: PORTS.postgres, dir: path.join(DIR, "postgres") });
  stops.push(() => postgres.stop());
  fs.writeFileSync(
    path.join(DIR, "postgres", "data", "pg_hba.conf"),
    "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
  );
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query("SELECT pg_reload_conf()");
  for (const [role, password] of [
    ["rur2", s.dbPassword],
    ["rur2_staging", s.stagingDbPassword],
  ]) {
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE ${role} OWNER ${role}`);
  }
  await admin.end();
  const dbUrl = `postgres://rur2:${s.dbPassword}@127.0.0.1:${PORTS.postgres}/rur2`;
  const stagingDbUrl = `postgres://rur2_staging:${s.stagingDbPassword}@127.0.0.1:${PORTS.postgres}/rur2_staging`;
  await seedDatabase(dbUrl, ["0001_baseline.sql"]);
  await seedDatabase(stagingDbUrl, [
    "0001_baseline.sql",
    "0002_assessment_exports.sql",
    "0003_drop_assessments_pdf_url.sql",
  ]);

  // Redis: logins, API tokens, the export queue, the admin switches.
  const redis = await startRedis([], { port: PORTS.redis });
  stops.push(() => redis.stop());
  const r = createClient({ url: redis.url });
  await r.connect();
  const credential = (password) => {
    const salt = randomBytes(8).toString("hex");
    return `${salt}:${scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 }).toString("hex")}`; // app.mjs's SCRYPT
  };
  await r.set("rur2:credentials:test@example.com", credential(s.smoke));
  for (const [email, password] of Object.entries(s.users))
    await r.set(`rur2:credentials:${email}`, credential(password));
  await r.set(`rur2:api-token:${sha256(s.test)}`, "1");
  await r.quit();

  // Vendors: Stripe, Neon, the DNS name, the messages' destinations.
  await listen(stripeServer({ secretKeySha256: sha256(s.stripeKey) }).server, PORTS.stripe);
  await listen(
    neonServer({
      dir: path.join(DIR, "neon"),
      projectId: PROJECT,
      apiKeySha256: sha256(s.neon),
      databaseUrl: dbUrl,
      pgBin: postgres.bin,
      log,
    }).server,
    PORTS.neon,
  );
  // T-1's "Create production database backup via Neon": the latest backup before a release.
  const neonCall = await fetch(`http://127.0.0.1:${PORTS.neon}/api/v2/projects/${PROJECT}/branches`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.neon}`, "content-type": "application/json" },
    body: JSON.stringify({ branch: { name: "backup-t-1", parent_id: "br-main" } }),
  });
  if (!neonCall.ok) throw new Error(`the T-1 backup branch: Neon answered ${neonCall.status}`);
  const dns = await startDnsServer({ [HOST]: { A: ["127.0.0.1"] } }, PORTS.dns);
  stops.push(() => dns.close());
  const store = messageStore(path.join(DIR, "messages"));
  const smtp = smtpServer({ user: "releases", password: s.smtp, tls, store });
  await new Promise((resolve, reject) => {
    smtp.server.once("error", reject);
    smtp.listen(PORTS.smtp, "127.0.0.1", resolve);
  });
  stops.push(() => new Promise((done) => smtp.close(done)));
  await listen(statusPageServer({ secret: s.statusPage, store }), PORTS.statusPage);
  // Slack: each message posted to a channel is kept in DIR/messages/ too.
  const slack = await startSlackApi(
    { token: s.slack, channels: ["#releases", "#engineering", "#incidents"], port: PORTS.slack },
    (stop) => stops.push(stop),
  );
  let posted = 0;
  const relay = setInterval(() => {
    for (const m of slack.messages.slice(posted))
      store("slack", { channel: m.channel, thread: m.thread_ts, text: m.text });
    posted = slack.messages.length;
  }, 200);
  stops.push(() => clearInterval(relay));

  // The App: its secrets as Replit Secrets hold them; Replit publishes what is pushed.
  const appEnv = (databaseUrl, redisUrl = redis.url) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    JWT_SECRET: s.jwt,
    STRIPE_SECRET_KEY: s.stripeKey,
    STRIPE_WEBHOOK_SECRET: s.webhookSecret,
    STRIPE_API_URL: `http://127.0.0.1:${PORTS.stripe}`,
    NEON_API_KEY: s.neon,
    RUR2_ADMIN_TOKEN_SHA256: sha256(s.admin),
    RUR2_PUBLIC_FILES_URL: `https://${HOST}:${PORTS.https}/files`,
    RUR2_METRICS_WINDOW_MS: String(METRICS_WINDOW_MS),
  });
  const replit = await startReplit({
    dir: DIR,
    branch: "main",
    token: s.git,
    ports: { app: PORTS.app, https: PORTS.https, git: PORTS.git, slots: [PORTS.slotA, PORTS.slotB] },
    tls,
    appEnv: appEnv(dbUrl),
    listen,
    log,
  });
  stops.push(() => replit.stop());

  // The team's checkout of RuR2 (GIT_DIR for gantry): a commit and a tag per version, origin
  // the Replit remote, its token from RUR2_GIT_TOKEN through a credential helper.
  const repo = path.join(DIR, "rur2");
  const git = (...args) =>
    execFileSync("git", ["-C", repo, ...args], {
      stdio: "pipe",
      env: { ...process.env, RUR2_GIT_TOKEN: s.git },
    });
  fs.rmSync(repo, { recursive: true, force: true });
  fs.mkdirSync(repo, { recursive: true });
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.name", "RuR2 Team");
  git("config", "user.email", "team@rur2.test");
  git(
    "config",
    "credential.helper",
    '!f() { echo username=x-access-token; echo "password=$RUR2_GIT_TOKEN"; }; f',
  );
  git("remote", "add", "origin", `http://127.0.0.1:${PORTS.git}/rur2.git`);
  const changes = {
    "1.9.0": "Synchronous PDF export",
    "2.0.0": "Asynchronous PDF exports; evidence content types",
    "2.1.0": "Assessment cache for faster lists",
  };
  for (const v of VERSIONS) {
    fs.writeFileSync(path.join(repo, "VERSION"), `${v}\n`);
    fs.appendFileSync(path.join(repo, "CHANGELOG.md"), `- v${v}: ${changes[v]}\n`);
    git("add", "-A");
    git("commit", "--quiet", "-m", `Release v${v}: ${changes[v]}`);
    git("tag", "-a", `v${v}`, "-m", `Release v${v}`);
  }
  // The remote is served by this process: the push must not block it.
  await new Promise((resolve, reject) =>
    execFile(
      "git",
      ["-C", repo, "push", "--quiet", "origin", "v1.9.0^{commit}:refs/heads/main", "--tags"],
      { env: { ...process.env, RUR2_GIT_TOKEN: s.git } },
      (e) => (e ? reject(e) : resolve()),
    ),
  );
  await replit.publish();
  if (replit.served() !== "1.9.0")
    throw new Error("the App did not start at 1.9.0; see DIR/replit/app-1.9.0.log");

  // Staging runs the release candidate on its own database.
  const staging = spawn(process.execPath, [path.join(here, "app.mjs")], {
    env: {
      ...appEnv(stagingDbUrl, `${redis.url}/1`), // its own Redis database: its own export queue
      PORT: String(PORTS.staging),
      RUR2_VERSION: VERSIONS.at(-1),
      RUR2_FILES_DIR: path.join(DIR, "staging-files"),
    },
    stdio: [
      "ignore",
      fs.openSync(path.join(DIR, "staging.log"), "a"),
      fs.openSync(path.join(DIR, "staging.log"), "a"),
    ],
  });
  stops.push(
    () =>
      new Promise((done) => {
        if (staging.exitCode !== null) return done();
        staging.once("exit", done);
        staging.kill("SIGTERM");
      }),
  );

  const traffic = startTraffic({
    url: `http://127.0.0.1:${PORTS.app}`,
    users: Object.entries(s.users).map(([email, password], i) => ({ email, password, facilityId: 3 + i })),
    webhookSecret: s.webhookSecret,
  });
  stops.push(() => traffic.stop());

  // The smoke test's Stripe-Signature: the signature Stripe would send for exactly the body
  // the runbook's stripe-webhook test posts (Gantry writes its json: compactly, in order).
  const smokeBody = JSON.stringify({ type: "checkout.session.completed", data: { object: {} } });
  const t = Math.floor(Date.now() / 1000);
  const signature = `t=${t},v1=${createHmac("sha256", s.webhookSecret).update(`${t}.${smokeBody}`).digest("hex")}`;

  const env = {
    DATABASE_URL: dbUrl,
    STRIPE_SECRET_KEY: s.stripeKey,
    STRIPE_TEST_SIGNATURE: signature,
    SMOKE_TEST_PASSWORD: s.smoke,
    RUR2_ADMIN_TOKEN: s.admin,
    RUR2_TEST_TOKEN: s.test,
    NEON_API_KEY: s.neon,
    SNYK_TOKEN: s.snyk,
    RUR2_GIT_TOKEN: s.git,
    SLACK_BOT_TOKEN: s.slack,
    SMTP_URL: `smtp://releases:${s.smtp}@127.0.0.1:${PORTS.smtp}`,
    STATUS_PAGE_WEBHOOK_URL: `http://127.0.0.1:${PORTS.statusPage}/hooks/status`,
    STATUS_PAGE_WEBHOOK_SECRET: s.statusPage,
    // Not secret: where the team's tools find the stand-in.
    GIT_DIR: path.join(repo, ".git"),
    RUR2_URL: `http://127.0.0.1:${PORTS.app}`,
    NEON_API_HOST: `http://127.0.0.1:${PORTS.neon}`,
    SNYK_TOKEN_SHA256: sha256(s.snyk),
    NODE_EXTRA_CA_CERTS: path.join(DIR, "ca.pem"),
    npm_config_offline: "true",
  };
  const secrets = Object.keys(env).filter(
    (k) =>
      ![
        "GIT_DIR",
        "RUR2_URL",
        "NEON_API_HOST",
        "SNYK_TOKEN_SHA256",
        "NODE_EXTRA_CA_CERTS",
        "npm_config_offline",
      ].includes(k),
  );
  fs.writeFileSync(
    path.join(DIR, "standin.json"),
    `${JSON.stringify({ env, secrets, version: `http://127.0.0.1:${PORTS.app}/health` }, null, 2)}\n`,
    { mode: 0o600 },
  );
  log(
    `ready: RuR2 ${replit.served()} at http://127.0.0.1:${PORTS.app} (${HOST}); env in ${path.join(DIR, "standin.json")}`,
  );
} catch (e) {
  log(`could not start: ${e.stack ?? e.message}`);
  await stopAll(1);
}

/** Applies the team's migrations as production has them, and the data the checks count. */
async function seedDatabase(url, files) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    // Production's history: these files were applied before Gantry, so its ledger
    // (gantry_migrations, docs/migrations.md) records them as applied.
    await db.query(
      "CREATE TABLE gantry_migrations (name text PRIMARY KEY, checksum text NOT NULL, phase text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp(), run_id text)",
    );
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(seed, "migrations", file));
      await db.query(bytes.toString("utf8"));
      await db.query(
        "INSERT INTO gantry_migrations (name, checksum, phase, run_id) VALUES ($1, $2, $3, 'before-gantry')",
        [
          file,
          createHash("sha256").update(bytes).digest("hex"),
          file.startsWith("0003") ? "contract" : "expand",
        ],
      );
    }
    await db.query(`
      INSERT INTO users (id, email, stripe_customer_id, subscription_status, created_at) VALUES
        (1, 'test@example.com', 'cus_smoke', 'active', now() - interval '400 days'),
        (2, 'user2@rur2.test', 'cus_u2', 'active', now() - interval '2 days'),
        (3, 'user3@rur2.test', 'cus_u3', 'active', now() - interval '3 days'),
        (4, 'user4@rur2.test', NULL, 'none', now() - interval '5 days'),
        (5, 'user5@rur2.test', 'cus_u5', 'past_due', now() - interval '90 days');
      SELECT setval(pg_get_serial_sequence('users', 'id'), 5);
      INSERT INTO users (email, stripe_customer_id, subscription_status, created_at)
        SELECT 'customer' || g || '@rur2.test', 'cus_c' || g, CASE WHEN g % 3 = 0 THEN 'active' ELSE 'none' END, now() - (g || ' hours')::interval
        FROM generate_series(1, 400) g;
      INSERT INTO facilities (id, owner_id, name) VALUES (1, 1, 'Smoke Test Facility'), (2, 2, 'Other Facility'),
        (3, 2, 'Plant 2'), (4, 3, 'Plant 3'), (5, 4, 'Plant 4'), (6, 5, 'Plant 5');
      INSERT INTO assessments (facility_id, name, status, created_at)
        SELECT 1 + g % 6, 'R2 assessment ' || g, CASE WHEN g % 4 = 0 THEN 'submitted' ELSE 'draft' END, now() - (g || ' minutes')::interval
        FROM generate_series(1, 5000) g;
      INSERT INTO evidence_files (assessment_id, filename, url, uploaded_at)
        SELECT 1 + g % 5000, 'evidence-' || g || '.pdf', 'https://${HOST}:${PORTS.https}/files/evidence/seed-' || g || '.pdf', now() - (g || ' minutes')::interval
        FROM generate_series(1, 3000) g;
    `);
    await db.query("SELECT setval(pg_get_serial_sequence('facilities', 'id'), 6)");
  } finally {
    await db.end();
  }
}
