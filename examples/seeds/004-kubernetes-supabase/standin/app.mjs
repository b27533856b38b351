/**
 * One ValueCanvas pod of the stand-in: `node app.mjs <deployment> <version> <port>`, started by
 * the stand-in's kubelet (kubelet.mjs) when the Kubernetes stand-in reports that Deployment's
 * pods of that version ready. DATABASE_URL and REDIS_URL come from the environment.
 *
 * - web: GET /health answers {"status": "ok", "build": "<git sha>"} (what the seed's UI check reads);
 * - api: GET /api/canvases reads the canvases from PostgreSQL (canvases.currency, the column
 *   the expand migration adds); POST /api/jobs queues a job in Redis for the worker;
 * - worker: takes the jobs off the Redis queue and counts each canvas in PostgreSQL.
 *
 * Every pod serves /healthz and /metrics (Prometheus text): http_requests_total and the
 * http_request_duration_seconds histogram of its requests, and, for the worker,
 * worker_queue_depth (the queue's length in Redis), all with namespace="valuecanvas".
 */
import http from "node:http";
import pg from "pg";
import { createClient } from "redis";

const [deployment, version, portText] = process.argv.slice(2);
const port = Number(portText);
const build = process.env.BUILD ?? "0000000";
const QUEUE = "valuecanvas:jobs";
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const labels = `namespace="valuecanvas",deployment="${deployment}",version="${version}"`;

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
db.on("error", () => undefined);
const redis = createClient({ url: process.env.REDIS_URL });
redis.on("error", () => undefined);
await redis.connect();

/** Per status code: request count, and the histogram of durations. */
const served = new Map();
function observe(status, seconds) {
  let s = served.get(status);
  if (!s) {
    s = { count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
    served.set(status, s);
  }
  s.count++;
  s.sum += seconds;
  BUCKETS.forEach((le, i) => {
    if (seconds <= le) s.buckets[i]++;
  });
}

let processed = 0;

async function metrics() {
  const lines = ["# TYPE http_requests_total counter"];
  for (const [status, s] of served)
    lines.push(`http_requests_total{${labels},status="${status}"} ${s.count}`);
  lines.push("# TYPE http_request_duration_seconds histogram");
  for (const [status, s] of served) {
    const l = `${labels},status="${status}"`;
    BUCKETS.forEach((le, i) => {
      lines.push(`http_request_duration_seconds_bucket{${l},le="${le}"} ${s.buckets[i]}`);
    });
    lines.push(`http_request_duration_seconds_bucket{${l},le="+Inf"} ${s.count}`);
    lines.push(`http_request_duration_seconds_sum{${l}} ${s.sum}`);
    lines.push(`http_request_duration_seconds_count{${l}} ${s.count}`);
  }
  if (deployment === "worker") {
    lines.push("# TYPE worker_queue_depth gauge");
    lines.push(`worker_queue_depth{${labels},queue="${QUEUE}"} ${await redis.lLen(QUEUE)}`);
    lines.push("# TYPE worker_jobs_processed_total counter");
    lines.push(`worker_jobs_processed_total{${labels}} ${processed}`);
  }
  return `${lines.join("\n")}\n`;
}

const json = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

/** The application's own routes; undefined when this deployment has no such route. */
async function route(req, res) {
  const path = new URL(req.url ?? "/", "http://pod").pathname;
  if (deployment === "web" && path === "/health") return json(res, 200, { status: "ok", build, version });
  if (deployment === "web" && path === "/") {
    res.writeHead(200, { "content-type": "text/html" });
    return res.end(`<!doctype html><title>ValueCanvas</title><p>ValueCanvas ${version} (${build})</p>\n`);
  }
  if (deployment === "api" && path === "/api/canvases" && req.method === "GET") {
    const r = await db.query("select id, title, currency from canvases order by created_at desc limit 20");
    return json(res, 200, r.rows);
  }
  if (deployment === "api" && path === "/api/jobs" && req.method === "POST") {
    await redis.lPush(QUEUE, JSON.stringify({ kind: "count-canvases", at: Date.now() }));
    return json(res, 202, { queued: true });
  }
  if (deployment === "api" && path === "/api/version") return json(res, 200, { version, build });
  return undefined;
}

const server = http.createServer(async (req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    return res.end(await metrics());
  }
  if (req.url === "/healthz") return json(res, 200, { ok: true });
  const started = process.hrtime.bigint();
  try {
    const answered = await route(req, res);
    if (answered === undefined && !res.headersSent) json(res, 404, { error: "not found" });
  } catch (e) {
    if (!res.headersSent) json(res, 500, { error: String(e.message) });
  }
  observe(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
});

let stopping = false;
async function work() {
  const worker = redis.duplicate();
  worker.on("error", () => undefined);
  await worker.connect();
  while (!stopping) {
    const job = await worker.brPop(QUEUE, 1).catch(() => null);
    if (!job) continue;
    await db.query("select count(*) from canvases").catch(() => undefined);
    processed++;
  }
  await worker.quit().catch(() => undefined);
}

server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${deployment} ${version} (${build}) on 127.0.0.1:${port}\n`);
});
const working = deployment === "worker" ? work() : Promise.resolve();

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, async () => {
    stopping = true;
    server.closeAllConnections();
    server.close();
    await working;
    await Promise.allSettled([redis.quit(), db.end()]);
    process.exit(0);
  });
}
