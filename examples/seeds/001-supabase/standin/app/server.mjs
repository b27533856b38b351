/**
 * estate-vault as the stand-in plays it: documents and beneficiaries in Postgres (standing in
 * for Supabase: auth.users is Supabase Auth's table, the rest is the team's schema from
 * migrations/), Redis-backed sessions, a websocket endpoint and Prometheus metrics.
 *
 * Environment: PORT, VERSION, DATABASE_URL, REDIS_URL, SESSION_SECRET, SESSION_STORE (redis,
 * the default, or memory), DEFECTS_FILE. The
 * version decides the defects: DEFECTS_FILE (standin/defects.json) maps versions to the
 * defects they carry. Secrets are never printed.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import pg from "pg";
import { createClient } from "redis";
import { verifyPassword } from "../password.mjs";
import { createSessions } from "./sessions.mjs";
import { acceptWebsocket } from "./websocket.mjs";

const version = process.env.VERSION ?? "0.0.0";
const port = Number(process.env.PORT);
const defects = new Set(JSON.parse(readFileSync(process.env.DEFECTS_FILE, "utf8"))[version] ?? []);

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
db.on("error", () => undefined);
const redis = createClient({ url: process.env.REDIS_URL });
redis.on("error", () => undefined);
await redis.connect();
const sessions = createSessions(
  process.env.SESSION_STORE ?? "redis",
  redis,
  process.env.SESSION_SECRET,
  defects,
);

const requests = new Map();
const countRequest = (status) => requests.set(status, (requests.get(status) ?? 0) + 1);

const routes = [
  ["GET", /^\/api\/health$/, () => ({ status: 200, body: { status: "ok", version } })],
  ["GET", /^\/api\/health\/ready$/, ready],
  ["GET", /^\/api\/version$/, () => ({ status: 200, body: { version } })],
  ["POST", /^\/api\/auth\/login$/, login],
  ["GET", /^\/api\/auth\/session$/, signedIn(async (_match, user) => ({ status: 200, body: { user } }))],
  ["POST", /^\/api\/documents$/, signedIn(createDocument)],
  ["PATCH", /^\/api\/documents\/(\d+)$/, signedIn(editDocument)],
  ["DELETE", /^\/api\/documents\/(\d+)$/, signedIn(deleteDocument)],
  ["DELETE", /^\/api\/beneficiaries\/([\w-]+)$/, signedIn(deleteBeneficiary)],
];

/** Ready when Supabase Postgres and Redis both answer (Database Connectivity runbook 1-3). */
async function ready() {
  const checks = {};
  await Promise.all([
    db.query("select 1").then(
      () => (checks.database = "ok"),
      () => (checks.database = "unavailable"),
    ),
    redis.ping().then(
      () => (checks.redis = "ok"),
      () => (checks.redis = "unavailable"),
    ),
  ]);
  const ok = checks.database === "ok" && checks.redis === "ok";
  return { status: ok ? 200 : 503, body: { status: ok ? "ready" : "not_ready", version, checks } };
}

async function login(_match, _user, body) {
  const { rows } = await db.query("select id, email, encrypted_password from auth.users where email = $1", [
    String(body.email ?? ""),
  ]);
  const account = rows[0];
  if (!account || !verifyPassword(String(body.password ?? ""), account.encrypted_password)) {
    return { status: 401, body: { error: "invalid email or password" } };
  }
  // The app's own users row mirrors the Supabase Auth user (same id).
  await db.query("insert into users (id, email) values ($1, $2) on conflict (id) do nothing", [
    account.id,
    account.email,
  ]);
  const user = { id: account.id, email: account.email };
  return { status: 200, body: { token: await sessions.create(user), user } };
}

async function createDocument(_match, user, body) {
  const { rows } = await db.query(
    "insert into documents (owner_id, title, body) values ($1, $2, $3) returning id, title, body, updated_at",
    [user.id, String(body.title ?? "Untitled"), String(body.body ?? "")],
  );
  return { status: 201, body: rows[0] };
}

async function editDocument([, id], user, body) {
  const { rows } = await db.query(
    `update documents set title = coalesce($3, title), body = coalesce($4, body), updated_at = now()
      where id = $1 and owner_id = $2 returning id, title, body, updated_at`,
    [id, user.id, body.title ?? null, body.body ?? null],
  );
  return rows[0] ? { status: 200, body: rows[0] } : { status: 404, body: { error: "no such document" } };
}

async function deleteDocument([, id], user) {
  const { rowCount } = await db.query("delete from documents where id = $1 and owner_id = $2", [id, user.id]);
  return rowCount ? { status: 204 } : { status: 404, body: { error: "no such document" } };
}

/** A beneficiary a document still names cannot go: document_beneficiaries restricts it. */
async function deleteBeneficiary([, id], user) {
  try {
    const { rowCount } = await db.query("delete from beneficiaries where id = $1 and owner_id = $2", [
      id,
      user.id,
    ]);
    return rowCount ? { status: 204 } : { status: 404, body: { error: "no such beneficiary" } };
  } catch (err) {
    if (err.code === "23503") {
      return { status: 409, body: { error: "the beneficiary is still referenced by a document" } };
    }
    throw err;
  }
}

/** A handler that needs the session of the request's bearer token. */
function signedIn(handler) {
  return async (match, _user, body, req) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const user = await sessions.find(token);
    if (!user) return { status: 401, body: { error: "session not found" } };
    return handler(match, user, body, req);
  };
}

function metrics() {
  const lines = ["# TYPE http_requests_total counter"];
  for (const [status, count] of requests) {
    lines.push(`http_requests_total{status="${status}",version="${version}"} ${count}`);
  }
  return `${lines.join("\n")}\n`;
}

const server = http.createServer(async (req, res) => {
  res.on("finish", () => {
    if (req.url !== "/metrics") countRequest(res.statusCode);
  });
  res.setHeader("x-estate-vault-version", version);
  const path = new URL(req.url, "http://localhost").pathname;
  if (req.method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metrics());
    return;
  }
  const route = routes.find(([method, pattern]) => method === req.method && pattern.test(path));
  if (!route) {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    return;
  }
  let answer;
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = text ? JSON.parse(text) : {};
    answer = await route[2](route[1].exec(path), undefined, body, req);
  } catch (err) {
    // The error's code and class only: a driver message may quote a connection string.
    console.error(`${req.method} ${path} failed: ${err?.code ?? err?.name ?? "error"}`);
    answer = { status: 500, body: { error: "internal error" } };
  }
  if (answer.body === undefined) res.writeHead(answer.status).end();
  else res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
});
server.on("upgrade", (req, socket) => {
  if (new URL(req.url, "http://localhost").pathname === "/ws") acceptWebsocket(req, socket);
  else socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
});

// Budget reconciliation (Deployment 6): every run records one event per account with documents.
// Before the migrations have created the tables there is nothing to reconcile.
const reconcile = setInterval(() => {
  db.query(
    `insert into budget_reconciliation_events (owner_id, delta_cents)
     select distinct owner_id, 0 from documents`,
  ).catch(() => undefined);
}, 2000);

server.listen(port, "127.0.0.1", () => console.log(`estate-vault ${version} listening on 127.0.0.1:${port}`));

const stop = () => {
  clearInterval(reconcile);
  server.closeAllConnections();
  server.close();
  Promise.allSettled([redis.quit(), db.end()]).then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
