/**
 * The dateplan app as the stand-in plays it: one version of the Flows app (what Vercel serves
 * for one deployment), a plain HTTP server on 127.0.0.1:PORT.
 *
 *   GET  /api/health/live          200 {"status": "live"}
 *   GET  /api/health/ready         200 {"status": "ready"} or 503 {"status": "not_ready", failing}
 *   GET  /api/version              {"version"}
 *   POST /api/flows/:n/start       flow n (1-5) started         (critical)
 *   POST /api/flows/:n/complete    flow n completed, through its provider (critical)
 *   POST /api/auth/session         a sign-in: a session in Redis (critical)
 *   POST /api/plans                a date plan saved in PostgreSQL (a mutation)
 *   GET  /metrics                  the counters the seed's dashboards read
 *
 * Environment: VERSION, PORT, DATABASE_URL, REDIS_URL, SENTRY_DSN, SENTRY_ENVIRONMENT,
 * TIME_SCALE (the runbook's timeScale, for the times in ../defects.json).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import pg from "pg";
import { createClient } from "redis";
import { Counters } from "./metrics.mjs";
import { readiness } from "./readiness.mjs";
import { sentryReporter } from "./sentry.mjs";
import { heartbeatKey, QUEUE, startWorker } from "./worker.mjs";

const version = process.env.VERSION ?? "0.0.0";
const port = Number(process.env.PORT ?? 0);
const timeScale = Number(process.env.TIME_SCALE ?? 1) || 1;
const log = (line) => process.stderr.write(`[dateplan ${version}] ${line}\n`);

/** The providers each flow calls; every 40th call to one times out once and is retried. */
const PROVIDERS = { 1: "openai", 2: "cloudinary", 3: "vapi", 4: "openai", 5: "vapi" };
const PROVIDER_CODES = { openai: "OPENAI_TIMEOUT", cloudinary: "CLOUDINARY_TIMEOUT", vapi: "VAPI_TIMEOUT" };

const counters = new Counters({
  http_requests_total: "HTTP requests by route, method, status and whether the endpoint is critical.",
  flow_started_total: "Flows started, by flow (1-5).",
  flow_completed_total: "Flows completed, by flow (1-5).",
  provider_requests_total: "Calls to external providers by provider and outcome (success, timeout, failure).",
  mutation_failures_total: "Mutations that failed, by route and code.",
});
const report = sentryReporter(process.env.SENTRY_DSN, {
  environment: process.env.SENTRY_ENVIRONMENT ?? "standin",
  release: version,
});

function stallAt() {
  const file = new URL("../defects.json", import.meta.url);
  const defect = JSON.parse(fs.readFileSync(file, "utf8"))[version];
  if (!defect?.workerStallsAfter) return undefined;
  const m = /^(\d+)(ms|s|m|h)$/.exec(defect.workerStallsAfter);
  if (!m) throw new Error(`defects.json: ${version}.workerStallsAfter must be like 35m`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
  return Date.now() + ms / timeScale;
}

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 5,
  connectionTimeoutMillis: 2000,
});
pool.on("error", (err) => log(`postgres: ${err.message}`));
const redis = createClient({ url: process.env.REDIS_URL });
const blocking = redis.duplicate(); // BLPOP holds its connection; the worker gets its own.
for (const client of [redis, blocking]) client.on("error", (err) => log(`redis: ${err.message}`));
await Promise.all([redis.connect(), blocking.connect()]);
await pool.query(
  `create table if not exists flow_events (id bigserial primary key, flow int not null, session_id text not null,
     version text not null, at timestamptz not null default now());
   create table if not exists date_plans (id text primary key, version text not null, at timestamptz not null default now())`,
);
const worker = startWorker({ redis: blocking, pool, version, stallAt: stallAt(), log });

const calls = new Map(); // provider → calls so far
let lastNotReadyReport = 0;
let plans = 0;

async function handle(req, url) {
  const path = url.pathname;
  if (req.method === "GET" && path === "/api/health/live") return [200, { status: "live", version }];
  if (req.method === "GET" && path === "/api/version") return [200, { version }];
  if (req.method === "GET" && path === "/api/health/ready") {
    const answer = await readiness({
      postgres: () => pool.query("select 1"),
      redis: () => redis.ping(),
      heartbeat: async () => {
        const beat = await redis.get(heartbeatKey(version));
        return beat === null ? null : Number(beat);
      },
    });
    if (answer.status === "ready") return [200, answer];
    // One Sentry event a second at most: a dashboard, not a flood.
    if (Date.now() - lastNotReadyReport > 1000) {
      lastNotReadyReport = Date.now();
      report("ReadinessError", `not ready: ${answer.failing.join("; ")}`, { route: "/api/health/ready" });
    }
    return [503, answer];
  }
  const flow = /^\/api\/flows\/([1-5])\/(start|complete)$/.exec(path);
  if (req.method === "POST" && flow) {
    const n = flow[1];
    if (flow[2] === "start") {
      counters.inc("flow_started_total", { flow: n });
      return [200, { flow: Number(n), id: randomUUID() }];
    }
    const provider = PROVIDERS[n];
    const count = (calls.get(provider) ?? 0) + 1;
    calls.set(provider, count);
    if (count % 40 === 0) {
      counters.inc("provider_requests_total", { provider, outcome: "timeout" });
      report("ProviderTimeout", `${provider} did not answer within 10s (retried)`, {
        provider,
        provider_code: PROVIDER_CODES[provider],
      });
    }
    counters.inc("provider_requests_total", { provider, outcome: "success" });
    await redis.rPush(
      QUEUE,
      JSON.stringify({ flow: Number(n), id: url.searchParams.get("id") ?? randomUUID() }),
    );
    counters.inc("flow_completed_total", { flow: n });
    return [200, { flow: Number(n), completed: true }];
  }
  if (req.method === "POST" && path === "/api/auth/session") {
    const id = randomUUID();
    await redis.set(`dateplan:session:${id}`, version, { EX: 60 });
    return [200, { session: id }];
  }
  if (req.method === "POST" && path === "/api/plans") {
    plans++;
    // Every 100th save races another edit of the same plan: a 409 the client retries.
    if (plans % 100 === 0) {
      counters.inc("mutation_failures_total", { route: "/api/plans", code: "409" });
      return [409, { error: "conflict" }];
    }
    const id = randomUUID();
    await pool.query("insert into date_plans (id, version) values ($1, $2)", [id, version]);
    return [201, { id }];
  }
  return [404, { error: "not found" }];
}

const CRITICAL = /^\/api\/(flows|auth|plans)\b/;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  req.resume();
  if (req.method === "GET" && url.pathname === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(counters.text());
    return;
  }
  handle(req, url)
    .catch((err) => {
      report(err.name ?? "Error", err.message, { route: url.pathname });
      return [500, { error: "internal error" }];
    })
    .then(([status, body]) => {
      const route = url.pathname.replace(/^\/api\/flows\/[1-5]\//, "/api/flows/:n/");
      counters.inc("http_requests_total", {
        route,
        method: req.method,
        status,
        critical: CRITICAL.test(url.pathname),
      });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
});

server.listen(port, "127.0.0.1", () => log(`serving on 127.0.0.1:${server.address().port}`));

const stop = async () => {
  server.close();
  await worker.stop();
  await Promise.allSettled([redis.quit(), blocking.disconnect(), pool.end()]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
