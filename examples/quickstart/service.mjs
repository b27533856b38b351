/**
 * The Gantry quickstart service: a tiny dependency-free HTTP service to release and roll back.
 *
 *   VERSION=2.0.0 PORT=18080 node service.mjs     # listens on 127.0.0.1 only
 *
 * GET /health    → 200 {"status":"ok","version"}              (the process is up)
 * GET /ready     → 200 {"status":"ready"|"not_ready","version"}
 * GET /api/hello → 200 {"hello":"world","version"}
 * POST /api/login → 200 {"token"}                              (a session token, new per process)
 * GET /api/me    → 200 {"user":"demo","version"} with `Authorization: Bearer <token>`, else 401
 * GET /metrics   → Prometheus text: http_requests_total{path,code} (for /api/* only),
 *                  quickstart_build_info{version} 1, process_start_time_seconds
 *
 * It simulates its own users: every 25 ms it calls its own /api/hello over HTTP, so the
 * counters move without a load tool (QUICKSTART_TRAFFIC=0 turns that off).
 * Versions with major 2 carry a defect: DEFECT_AFTER_MS (default 4000) after start, every
 * third /api/hello answers 500 and /ready says not_ready, while /health stays 200.
 * Every other version is healthy. SIGTERM or SIGINT stops it cleanly.
 */
import http from "node:http";

const version = process.env.VERSION || "0.0.0";
const port = Number(process.env.PORT || 8080);
const defectAfterMs = Number(process.env.DEFECT_AFTER_MS || 4000);
const traffic = process.env.QUICKSTART_TRAFFIC !== "0";
const defective = version.replace(/^v/, "").split(".")[0] === "2";
const startedAt = Date.now();
/** The one session this process hands out: a later process does not know it. */
const token = `t-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/** `${path} ${code}` → count, for /api/* requests. */
const requests = new Map();
let hellos = 0;

const broken = () => defective && Date.now() - startedAt >= defectAfterMs;

function send(res, code, body, type = "application/json") {
  const text = type === "application/json" ? `${JSON.stringify(body)}\n` : body;
  res.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function metrics() {
  const lines = [
    "# HELP http_requests_total HTTP requests to /api/*, by path and status code.",
    "# TYPE http_requests_total counter",
  ];
  for (const [key, count] of requests) {
    const [path, code] = key.split(" ");
    lines.push(`http_requests_total{path="${path}",code="${code}"} ${count}`);
  }
  lines.push(
    "# HELP quickstart_build_info The version serving.",
    "# TYPE quickstart_build_info gauge",
    `quickstart_build_info{version="${version.replace(/["\\\n]/g, "_")}"} 1`,
    "# HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${Math.floor(startedAt / 1000)}`,
  );
  return `${lines.join("\n")}\n`;
}

function route(req, res, path) {
  if (path === "/api/login" && req.method === "POST") return send(res, 200, { token });
  if (req.method !== "GET") return send(res, 405, { error: "method not allowed" });
  if (path === "/api/me") {
    if (req.headers.authorization === `Bearer ${token}`) return send(res, 200, { user: "demo", version });
    return send(res, 401, { error: "not signed in" });
  }
  if (path === "/health") return send(res, 200, { status: "ok", version });
  if (path === "/ready") return send(res, 200, { status: broken() ? "not_ready" : "ready", version });
  if (path === "/metrics") return send(res, 200, metrics(), "text/plain; version=0.0.4");
  if (path === "/api/hello") {
    hellos += 1;
    if (broken() && hellos % 3 === 0) return send(res, 500, { error: "internal error", version });
    return send(res, 200, { hello: "world", version });
  }
  return send(res, 404, { error: "not found" });
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path.startsWith("/api/")) {
    res.on("finish", () => {
      const key = `${path} ${res.statusCode}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    });
  }
  route(req, res, path);
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
let ticker;

server.on("error", (e) => {
  console.error(`quickstart ${version}: ${e.message}`);
  process.exit(1);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`quickstart ${version} listening on 127.0.0.1:${port}`);
  if (!traffic) return;
  ticker = setInterval(() => {
    const req = http.get({ host: "127.0.0.1", port, path: "/api/hello", agent }, (res) => res.resume());
    req.setTimeout(1000, () => req.destroy());
    req.on("error", () => {});
  }, 25);
});

function shutdown(signal) {
  console.log(`quickstart ${version} stopping (${signal})`);
  clearInterval(ticker);
  agent.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
