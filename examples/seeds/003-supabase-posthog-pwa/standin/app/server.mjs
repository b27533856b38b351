/**
 * Pocket Philosopher, as small as the seed's checks need: a PWA shell (/, the manifest, a
 * service worker that precaches the offline route and the fonts stylesheet), /api/health with
 * each AI provider's status, /api/chat (a coach answer with citations from Postgres, the
 * persona cached in Redis, one PostHog event per chat: i_chat_completed or i_request_failed)
 * and /api/retrieval. Configured by environment variables only; PORT and VERSION come from
 * whoever starts it (the hosting stand-in, or a test's preview).
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createClient } from "redis";
import { page } from "./pages.mjs";
import { createProviders, PROVIDERS } from "./providers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const version = env.VERSION ?? "dev";
const port = Number(env.PORT ?? 18411);
const startedAt = Date.now();

// The faulty builds are listed in ../versions.json (see the seed's README).
const defects = JSON.parse(fs.readFileSync(path.join(here, "..", "versions.json"), "utf8")).defects;
const defect = defects[version];

const db = new pg.Pool({ connectionString: env.SUPABASE_DB_URL, max: 4 });
const redis = createClient({ url: env.REDIS_URL });
redis.on("error", () => undefined);
const providers = createProviders({ apiUrl: env.AI_API_URL, env, defect, startedAt });
let turn = 0;

/** One PostHog event through the capture API; telemetry never fails a request. */
function track(event, properties) {
  if (!env.POSTHOG_HOST || !env.POSTHOG_API_KEY) return;
  fetch(`${env.POSTHOG_HOST}/i/v0/e/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      api_key: env.POSTHOG_API_KEY,
      event,
      distinct_id: "coach-session",
      properties: { ...properties, version },
      timestamp: new Date().toISOString(),
    }),
    signal: AbortSignal.timeout(2000),
  }).catch(() => undefined);
}

async function passages(query) {
  const { rows } = await db.query(
    `select author, work, text from passages
      where to_tsvector('english', text) @@ plainto_tsquery('english', $1) limit 3`,
    [query],
  );
  return rows;
}

async function persona(name) {
  const key = `persona:${name}`;
  const cached = await redis.get(key);
  if (cached) return JSON.parse(cached);
  const fresh = { name, voice: "calm, Socratic", loadedAt: new Date().toISOString() };
  await redis.set(key, JSON.stringify(fresh), { EX: 300 });
  return fresh;
}

/** A coach answer: providers in turn, falling back to the next on failure. */
async function chat(prompt) {
  const coach = await persona("stoic");
  const citations = await passages(prompt);
  const first = turn++ % PROVIDERS.length;
  for (let i = 0; i < PROVIDERS.length; i++) {
    const p = PROVIDERS[(first + i) % PROVIDERS.length];
    try {
      const content = await providers.complete(p, prompt);
      track("i_chat_completed", { provider: p.name });
      await redis.incr("stats:chats_completed");
      return { provider: p.name, persona: coach.name, content, citations };
    } catch (err) {
      track("i_request_failed", { provider: p.name, error: err.message });
    }
  }
  throw new Error("every AI provider failed");
}

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...extra });
  res.end(body);
}
const json = (res, status, value) => send(res, status, "application/json", JSON.stringify(value));

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    return {};
  }
}

async function handle(req, res) {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (req.method === "GET" && url.pathname === "/api/health") {
    const list = providers.health();
    const status = list.some((p) => p.status === "unavailable")
      ? "unavailable"
      : list.some((p) => p.status === "degraded")
        ? "degraded"
        : "healthy";
    const redisOk = await redis.ping().then(
      () => true,
      () => false,
    );
    return json(res, status === "unavailable" ? 503 : 200, {
      status,
      version,
      redis: redisOk,
      providers: list,
    });
  }
  if (req.method === "GET" && url.pathname === "/api/version") return json(res, 200, { version });
  if (req.method === "POST" && url.pathname === "/api/chat") {
    const { prompt } = await readJson(req);
    if (typeof prompt !== "string" || !prompt) return json(res, 400, { error: "prompt is required" });
    try {
      return json(res, 200, await chat(prompt));
    } catch (err) {
      return json(res, 502, { error: err.message });
    }
  }
  if (req.method === "GET" && url.pathname === "/api/retrieval") {
    return json(res, 200, {
      query: url.searchParams.get("q"),
      citations: await passages(url.searchParams.get("q") ?? ""),
    });
  }
  const asset = page(url.pathname, version);
  if (req.method === "GET" && asset) return send(res, 200, asset.type, asset.body, asset.headers);
  return json(res, 404, { error: "not found" });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) json(res, 500, { error: err.message });
  });
});

await redis.connect();
await providers.start();
server.listen(port, "127.0.0.1", () => {
  console.log(`pocket-philosopher ${version} listening on 127.0.0.1:${port}`);
});

const stop = () => {
  providers.stop();
  server.close();
  Promise.allSettled([db.end(), redis.quit()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
