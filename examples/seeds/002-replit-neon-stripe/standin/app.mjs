// RuR2 as the stand-in plays it: one version of the app, the process Replit Deployments runs.
// A plain HTTP server on 127.0.0.1:PORT with the endpoints the seed's smoke tests, checks and
// rollback steps call; its data in the real Postgres (the tables of migrations/), its logins,
// API tokens, the export queue and the admin switches in the real Redis.
//
// Started by replit.mjs with the version it publishes (RUR2_VERSION) and the App's secrets in
// its environment, as Replit Secrets would give them. A version listed in defects.json carries
// that defect: its critical endpoints answer 500 to a rising share of requests, starting a
// while after the version began serving (see the file).
import { createHash, createHmac, scrypt, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { Metrics } from "./metrics.mjs";

const env = process.env;
const VERSION = env.RUR2_VERSION;
const PORT = Number(env.PORT);
const FILES = env.RUR2_FILES_DIR; // uploads and exports (the App's object storage)
const PUBLIC_FILES_URL = env.RUR2_PUBLIC_FILES_URL; // where those files are served over HTTPS
const STARTED = Date.now();
// The npm packages the App runs on, with the versions installed (parity compares them).
const require = createRequire(import.meta.url);
const DEPENDENCIES = Object.fromEntries(
  ["pg", "redis"].map((n) => [n, require(`${n}/package.json`).version]),
);
const defects = JSON.parse(fs.readFileSync(new URL("./defects.json", import.meta.url), "utf8"));
const defect = defects.versions[VERSION];

const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10, connectionTimeoutMillis: 5000 });
db.on("error", () => undefined);
const redis = createClient({ url: env.REDIS_URL });
redis.on("error", () => undefined);
await redis.connect();
const metrics = new Metrics(Number(env.RUR2_METRICS_WINDOW_MS ?? 300_000));

/** A query, timed for the database query P95. */
async function sql(text, params = []) {
  const t = performance.now();
  try {
    return await db.query(text, params);
  } finally {
    metrics.query(performance.now() - t);
  }
}

// --- Authentication: HS256 JWTs signed with JWT_SECRET, API tokens by their sha256 in Redis.

const b64 = (v) => Buffer.from(v).toString("base64url");
function signJwt(claims) {
  const head = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const mac = createHmac("sha256", env.JWT_SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${mac}`;
}
function verifyJwt(token) {
  const [head, body, mac] = token.split(".");
  if (!head || !body || !mac) return undefined;
  const want = createHmac("sha256", env.JWT_SECRET).update(`${head}.${body}`).digest();
  const got = Buffer.from(mac, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  return claims.exp > Date.now() / 1000 ? claims : undefined;
}
const sha256 = (v) => createHash("sha256").update(v).digest("hex");
// Password hashes: scrypt with a cost the stand-in's loaded 2-core machine answers within the
// login's 300 ms budget (standin.mjs writes them with the same parameters).
const SCRYPT = { N: 1024, r: 8, p: 1 };
const scryptAsync = (password, salt, length, options) =>
  new Promise((resolve, reject) =>
    scrypt(password, salt, length, options, (e, key) => (e ? reject(e) : resolve(key))),
  );
const sameText = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The signed-in user's id, from a JWT or an API token; undefined when neither is valid. */
async function userOf(req) {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  if (!token) return undefined;
  const claims = token.includes(".") ? verifyJwt(token) : undefined;
  if (claims) return Number(claims.sub);
  const id = await redis.get(`rur2:api-token:${sha256(token)}`);
  return id ? Number(id) : undefined;
}
function isAdmin(req) {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  return token !== undefined && sameText(sha256(token), env.RUR2_ADMIN_TOKEN_SHA256);
}

// --- The defect: a share of requests to the critical endpoints fails, rising with uptime.

let defectCredit = 0;
function defective() {
  if (!defect) return false;
  const uptime = Date.now() - STARTED;
  const share = Math.min(
    defect.maxShare,
    Math.max(0, (uptime - defect.afterMs) / defect.rampMs) * defect.maxShare,
  );
  defectCredit += share;
  if (defectCredit < 1) return false;
  defectCredit -= 1;
  return true;
}

// --- Stripe: webhook signatures as Stripe signs them, Checkout sessions through its API.

function stripeSignatureValid(header, raw) {
  const parts = Object.fromEntries(
    String(header ?? "")
      .split(",")
      .map((p) => p.split("=", 2)),
  );
  if (!parts.t || !parts.v1) return false;
  const want = createHmac("sha256", env.STRIPE_WEBHOOK_SECRET).update(`${parts.t}.${raw}`).digest("hex");
  return sameText(want, parts.v1);
}
async function createCheckoutSession(priceId, userId) {
  const res = await fetch(`${env.STRIPE_API_URL}/v1/checkout/sessions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      mode: "subscription",
      "line_items[0][price]": priceId,
      "line_items[0][quantity]": "1",
      client_reference_id: String(userId),
    }),
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(`Stripe answered ${res.status}`), { status: 502 });
  return body;
}

// --- Files: evidence uploads and generated PDFs.

function parseMultipart(req, raw) {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers["content-type"] ?? "");
  if (!boundary) return undefined;
  const sep = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts = {};
  let at = raw.indexOf(sep);
  while (at >= 0) {
    const next = raw.indexOf(sep, at + sep.length);
    if (next < 0) break;
    const part = raw.subarray(at + sep.length + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, split).toString("utf8");
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (name) parts[name] = { filename, data: part.subarray(split + 4) };
    at = next;
  }
  return parts;
}
function pdfOf(title, lines) {
  const text = [title, ...lines].map(
    (l, i) => `BT /F1 11 Tf 50 ${780 - i * 14} Td (${l.replace(/[()\\]/g, "")}) Tj ET`,
  );
  const stream = text.join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out);
}

// --- Background jobs: PDF exports queued in Redis, worked here unless paused.

const jobs = { completed: 0, failed: 0 };
async function exportWorker() {
  const worker = redis.duplicate();
  worker.on("error", () => undefined);
  await worker.connect();
  for (;;) {
    if ((await redis.get("rur2:jobs:paused")) === "1") {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const item = await worker.brPop("rur2:exports", 1).catch(() => null);
    if (!item) continue;
    const id = Number(item.element);
    try {
      const { rows } = await sql(
        "SELECT e.id, a.name, a.id AS assessment_id FROM assessment_exports e JOIN assessments a ON a.id = e.assessment_id WHERE e.id = $1",
        [id],
      );
      if (!rows[0]) continue;
      await sql("UPDATE assessment_exports SET status = 'running' WHERE id = $1", [id]);
      const lines = Array.from({ length: 40 }, (_, i) => `Question ${i + 1}: answered, evidence reviewed`);
      const file = path.join(FILES, "exports", `exp_${id}.pdf`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, pdfOf(`RuR2 assessment ${rows[0].assessment_id}: ${rows[0].name}`, lines));
      await sql(
        "UPDATE assessment_exports SET status = 'completed', file_url = $2, completed_at = now() WHERE id = $1",
        [id, `${PUBLIC_FILES_URL}/exports/exp_${id}.pdf`],
      );
      jobs.completed++;
    } catch {
      jobs.failed++;
      await sql("UPDATE assessment_exports SET status = 'failed' WHERE id = $1", [id]).catch(() => undefined);
    }
  }
}

// The admin switches live in Redis (every process of every version sees them); /health reads
// the maintenance banner from this copy, refreshed twice a second, to stay cheap.
const switches = { maintenance: false };
setInterval(async () => {
  switches.maintenance = (await redis.get("rur2:maintenance").catch(() => null)) === "1";
}, 500).unref();

// --- Routes.

const CRITICAL = new Set([
  "POST /api/auth/login",
  "GET /api/assessments",
  "POST /api/assessments",
  "GET /api/assessments/:id",
  "POST /api/payments/create-checkout",
  "POST /api/payments/webhook",
]);
// The seed's critical paths: login, assessment creation, payment.
const CRITICAL_PATHS = {
  login: "POST /api/auth/login",
  "assessment-creation": "POST /api/assessments",
  payment: "POST /api/payments/create-checkout",
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}
/** A handler's answer with a status other than 200. */
class Reply {
  constructor(code, body) {
    this.code = code;
    this.body = body;
  }
}
const reply = (code, body) => new Reply(code, body);
const need = (cond, status, message) => {
  if (!cond) throw new HttpError(status, message);
};

const routes = [
  [
    "GET",
    "/health",
    async () => ({
      status: "ok",
      timestamp: new Date().toISOString(),
      version: VERSION,
      maintenance: switches.maintenance,
    }),
  ],
  [
    "GET",
    "/api/health",
    async () => {
      await sql("SELECT 1");
      return {
        status: "healthy",
        database: "connected",
        stripe: env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET ? "configured" : "missing",
        version: VERSION,
        node: process.version,
        dependencies: DEPENDENCIES,
        env_keys: Object.keys(env)
          .filter((k) => /^(DATABASE_URL|REDIS_URL|JWT_SECRET|STRIPE_|NEON_|RUR2_|PORT$)/.test(k))
          .sort(),
      };
    },
  ],
  [
    "POST",
    "/api/auth/login",
    async ({ body }) => {
      const email = String(body?.email ?? "").toLowerCase();
      const stored = await redis.get(`rur2:credentials:${email}`);
      const [salt, hash] = (stored ?? ":").split(":");
      const given = stored
        ? (await scryptAsync(String(body?.password ?? ""), salt, 32, SCRYPT)).toString("hex")
        : "";
      const ok = stored && sameText(given, hash);
      metrics.login(Boolean(ok));
      need(ok, 401, "wrong email or password");
      const { rows } = await sql("SELECT id, email, subscription_status FROM users WHERE email = $1", [
        email,
      ]);
      need(rows[0], 401, "wrong email or password");
      return { token: signJwt({ sub: String(rows[0].id) }), user: rows[0] };
    },
  ],
  [
    "GET",
    "/api/auth/me",
    async ({ user }) =>
      (await sql("SELECT id, email, subscription_status, created_at FROM users WHERE id = $1", [user]))
        .rows[0],
  ],
  [
    "GET",
    "/api/assessments",
    async ({ user }) =>
      (
        await sql(
          'SELECT a.id, a.name, a.status, a.facility_id AS "facilityId" FROM assessments a JOIN facilities f ON f.id = a.facility_id WHERE f.owner_id = $1 ORDER BY a.id DESC LIMIT 50',
          [user],
        )
      ).rows,
  ],
  [
    "POST",
    "/api/assessments",
    async ({ user, body }) => {
      need(typeof body?.name === "string" && body.name.length > 0, 400, "name is required");
      const facility = await sql("SELECT id FROM facilities WHERE id = $1 AND owner_id = $2", [
        Number(body.facilityId),
        user,
      ]);
      need(facility.rows[0], 404, "no such facility");
      const { rows } = await sql(
        'INSERT INTO assessments (facility_id, name) VALUES ($1, $2) RETURNING id, name, status, facility_id AS "facilityId"',
        [facility.rows[0].id, body.name],
      );
      return reply(201, rows[0]);
    },
  ],
  [
    "GET",
    "/api/assessments/:id",
    async ({ user, params }) => {
      const { rows } = await sql(
        'SELECT a.id, a.name, a.status, a.facility_id AS "facilityId" FROM assessments a JOIN facilities f ON f.id = a.facility_id WHERE a.id = $1 AND f.owner_id = $2',
        [Number(params.id), user],
      );
      need(rows[0], 404, "no such assessment");
      const questions = Array.from({ length: 5 }, (_, i) => ({
        id: 785 + i,
        text: `R2 requirement ${i + 1}`,
      }));
      return { ...rows[0], questions };
    },
  ],
  [
    "POST",
    "/api/assessments/:id/evidence",
    async ({ user, params, req, raw }) => {
      const own = await sql(
        "SELECT a.id FROM assessments a JOIN facilities f ON f.id = a.facility_id WHERE a.id = $1 AND f.owner_id = $2",
        [Number(params.id), user],
      );
      need(own.rows[0], 404, "no such assessment");
      const parts = parseMultipart(req, raw);
      need(parts?.file?.filename, 400, "a file is required");
      const name = path.basename(parts.file.filename);
      const { rows } = await sql(
        "INSERT INTO evidence_files (assessment_id, filename, url, content_type) VALUES ($1, $2, '', $3) RETURNING id",
        [
          own.rows[0].id,
          name,
          req.headers["content-type"]?.includes("pdf") ? "application/pdf" : "application/octet-stream",
        ],
      );
      const id = rows[0].id;
      const file = path.join(FILES, "evidence", String(id), name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, parts.file.data);
      const url = `${PUBLIC_FILES_URL}/evidence/${id}/${encodeURIComponent(name)}`;
      await sql("UPDATE evidence_files SET url = $2 WHERE id = $1", [id, url]);
      return reply(201, {
        id,
        filename: name,
        url,
        questionId: Number(parts.questionId?.data.toString() ?? 0),
      });
    },
  ],
  [
    "POST",
    "/api/assessments/:id/export",
    async ({ user, params }) => {
      const own = await sql(
        "SELECT a.id FROM assessments a JOIN facilities f ON f.id = a.facility_id WHERE a.id = $1 AND f.owner_id = $2",
        [Number(params.id), user],
      );
      need(own.rows[0], 404, "no such assessment");
      const { rows } = await sql("INSERT INTO assessment_exports (assessment_id) VALUES ($1) RETURNING id", [
        own.rows[0].id,
      ]);
      await redis.lPush("rur2:exports", String(rows[0].id));
      return reply(202, { exportId: `exp_${rows[0].id}`, status: "processing" });
    },
  ],
  [
    "GET",
    "/api/exports/:id",
    async ({ user, params }) => {
      const row = await ownExport(user, params.id);
      return {
        exportId: `exp_${row.id}`,
        status: row.status === "completed" ? "completed" : row.status === "failed" ? "failed" : "processing",
      };
    },
  ],
  [
    "GET",
    "/api/exports/:id/download",
    async ({ user, params }) => {
      const row = await ownExport(user, params.id);
      need(row.status === "completed", 409, "the export is not ready");
      return { file: path.join(FILES, "exports", `exp_${row.id}.pdf`), type: "application/pdf" };
    },
  ],
  [
    "POST",
    "/api/payments/create-checkout",
    async ({ user, body }) => {
      need(typeof body?.priceId === "string", 400, "priceId is required");
      try {
        const session = await createCheckoutSession(body.priceId, user);
        metrics.payment(true);
        return { sessionId: session.id, url: session.url };
      } catch (e) {
        metrics.payment(false);
        throw e;
      }
    },
  ],
  [
    "POST",
    "/api/payments/webhook",
    async ({ req, raw }) => {
      const t = performance.now();
      need(
        (await redis.get("rur2:webhooks:paused")) !== "1",
        503,
        "webhook processing is paused; Stripe retries",
      );
      need(
        stripeSignatureValid(req.headers["stripe-signature"], raw.toString("utf8")),
        400,
        "No signatures found matching the expected signature for payload",
      );
      try {
        const event = JSON.parse(raw.toString("utf8"));
        await sql("SELECT 1 FROM users LIMIT 1"); // where a real handler records the event
        metrics.webhook(true, performance.now() - t);
        return { received: true, type: event.type };
      } catch (e) {
        metrics.webhook(false, performance.now() - t);
        throw e;
      }
    },
  ],
  [
    "POST",
    "/api/payments/webhook/test",
    async () => {
      // A self-test: an event signed with the App's own secret goes through the same checks.
      need((await redis.get("rur2:webhooks:paused")) !== "1", 503, "webhook processing is paused");
      const raw = JSON.stringify({ type: "rur2.webhook.test", data: { object: {} } });
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac("sha256", env.STRIPE_WEBHOOK_SECRET).update(`${t}.${raw}`).digest("hex");
      need(
        stripeSignatureValid(`t=${t},v1=${v1}`, raw),
        500,
        "the webhook secret does not verify its own signature",
      );
      await sql("SELECT 1");
      return { ok: true, processing: true };
    },
  ],
  [
    "GET",
    "/api/health/db",
    async () => {
      const t = performance.now();
      await sql("SELECT 1");
      // The App's own pool: its size and the connections checked out now.
      return {
        connected: true,
        latency_ms: Math.round(performance.now() - t),
        pool_size: 10,
        active_connections: db.totalCount - db.idleCount,
      };
    },
  ],
  [
    "GET",
    "/api/metrics",
    async () => ({
      version: VERSION,
      ...metrics.snapshot(CRITICAL, CRITICAL_PATHS),
      jobs: {
        processing: (await redis.get("rur2:jobs:paused")) !== "1",
        queued: await redis.lLen("rur2:exports"),
        success_rate: jobs.completed + jobs.failed ? jobs.completed / (jobs.completed + jobs.failed) : null,
      },
    }),
  ],
  [
    "POST",
    "/api/admin/maintenance",
    async ({ body }) => switchOf("rur2:maintenance", body?.enabled === true, "maintenance"),
  ],
  ["POST", "/api/admin/jobs/pause", async () => switchOf("rur2:jobs:paused", true, "jobs_paused")],
  ["POST", "/api/admin/jobs/resume", async () => switchOf("rur2:jobs:paused", false, "jobs_paused")],
  [
    "POST",
    "/api/admin/stripe-webhooks",
    async ({ body }) => switchOf("rur2:webhooks:paused", body?.processing === false, "webhooks_paused"),
  ],
];
// Who may call what: everything under /api but the health, login and Stripe endpoints needs a
// signed-in user; /api/admin, /api/metrics and /api/health/db need the admin token.
const ADMIN = /^\/api\/(admin\/|metrics$|health\/db$)/;
const PUBLIC =
  /^\/(health|api\/health|api\/auth\/login|api\/payments\/webhook|api\/payments\/webhook\/test)$/;

async function switchOf(key, on, name) {
  await redis.set(key, on ? "1" : "0");
  if (key === "rur2:maintenance") switches.maintenance = on;
  return { [name]: on };
}
async function ownExport(user, id) {
  const { rows } = await sql(
    "SELECT e.id, e.status FROM assessment_exports e JOIN assessments a ON a.id = e.assessment_id JOIN facilities f ON f.id = a.facility_id WHERE e.id = $1 AND f.owner_id = $2",
    [Number(String(id).replace(/^exp_/, "")), user],
  );
  need(rows[0], 404, "no such export");
  return rows[0];
}

function match(method, pathname) {
  for (const [m, pattern, handler] of routes) {
    if (m !== method) continue;
    const names = [];
    const re = new RegExp(
      `^${pattern.replace(/:(\w+)/g, (_, n) => {
        names.push(n);
        return "([^/]+)";
      })}$`,
    );
    const found = re.exec(pathname);
    if (found)
      return {
        key: `${m} ${pattern}`,
        handler,
        params: Object.fromEntries(names.map((n, i) => [n, found[i + 1]])),
      };
  }
  return undefined;
}

const server = http.createServer(async (req, res) => {
  const started = performance.now();
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const route = match(req.method ?? "GET", url.pathname);
  const key = route?.key ?? "unmatched";
  let status = 500;
  // A webhook refused on purpose while processing is paused (Stripe retries it) is not an error
  // of the App's: the rollback pauses them, and its "error rate < 1%" check reads this window.
  let counted = true;
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    need(route, 404, "not found");
    if (ADMIN.test(url.pathname)) need(isAdmin(req), 401, "admin token required");
    const user = PUBLIC.test(url.pathname) || ADMIN.test(url.pathname) ? undefined : await userOf(req);
    if (!PUBLIC.test(url.pathname) && !ADMIN.test(url.pathname)) need(user, 401, "sign in first");
    if (CRITICAL.has(key) && defective()) {
      metrics.fatal();
      throw new HttpError(500, "assessment cache: entry belongs to another facility");
    }
    const json =
      (req.headers["content-type"] ?? "").includes("application/json") && raw.length
        ? JSON.parse(raw.toString("utf8"))
        : undefined;
    let result = await route.handler({ req, raw, body: json, user, params: route.params });
    let code = 200;
    if (result instanceof Reply) ({ code, body: result } = result);
    need(result !== undefined, 404, "not found");
    status = code;
    if (result.file) {
      const data = fs.readFileSync(result.file);
      res.writeHead(code, { "content-type": result.type, "content-length": data.length });
      res.end(data);
    } else {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    }
  } catch (e) {
    status = e instanceof HttpError ? e.status : (e.status ?? 500);
    if (status === 503 && e instanceof HttpError && e.message.startsWith("webhook processing is paused"))
      counted = false;
    if (!(e instanceof HttpError) && status >= 500) {
      metrics.fatal();
      process.stderr.write(`error ${key}: ${e.message}\n`);
    }
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: e instanceof HttpError ? e.message : "internal error" }));
  } finally {
    // Gantry's and the team's own reads of the metrics are not the App's traffic.
    if (key !== "GET /api/metrics" && counted)
      metrics.request(key, status, performance.now() - started, await userOf(req).catch(() => undefined));
  }
});
server.keepAliveTimeout = 5000;
server.listen(PORT, "127.0.0.1", () => {
  process.stdout.write(
    `rur2 ${VERSION} listening on 127.0.0.1:${PORT}${defect ? ` (carries defect: ${defect.description})` : ""}\n`,
  );
});
exportWorker();

// Replit stops the previous version once the new one serves: requests in flight finish first.
const stop = () => {
  server.close(() => Promise.allSettled([db.end(), redis.quit()]).then(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 1500).unref();
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
