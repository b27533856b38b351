/**
 * `npm run verify:release` (Deployment 2) as the stand-in plays it: boots the app from this
 * folder on a scratch port (18290) against the environment's Postgres and Redis (DATABASE_URL,
 * REDIS_URL), and checks that it boots, that /api/health answers, that /api/health/ready says
 * "ready" and that its websocket answers a ping. Exits 1 with what failed.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PORT = 18290;
const base = `http://127.0.0.1:${PORT}`;

for (const name of ["DATABASE_URL", "REDIS_URL"]) {
  if (!process.env[name]) {
    console.error(`verify:release: ${name} is not set`);
    process.exit(1);
  }
}
const app = spawn(process.execPath, [path.join(HERE, "app", "server.mjs")], {
  env: {
    PATH: process.env.PATH,
    PORT: String(PORT),
    VERSION: "0.0.0-verify",
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    SESSION_SECRET: randomBytes(16).toString("hex"),
    DEFECTS_FILE: path.join(HERE, "defects.json"),
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
app.stdout.on("data", (d) => (output += d));
app.stderr.on("data", (d) => (output += d));

const fail = (message) => {
  console.error(`verify:release: ${message}${output ? `\n${output.trim()}` : ""}`);
  app.kill("SIGTERM");
  process.exit(1);
};
const get = async (p) => {
  const res = await fetch(`${base}${p}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.json() };
};

const deadline = Date.now() + 15_000;
for (;;) {
  if (app.exitCode !== null) fail(`the app exited with code ${app.exitCode} while booting`);
  try {
    if ((await get("/api/health")).status === 200) break;
  } catch {
    // Not listening yet.
  }
  if (Date.now() > deadline) fail("the app did not answer /api/health within 15s");
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log("✓ app boots, /api/health answers 200");
const ready = await get("/api/health/ready");
if (ready.body.status !== "ready") fail(`/api/health/ready: ${JSON.stringify(ready.body)}`);
console.log("✓ /api/health/ready is ready (Postgres and Redis answer)");
const pong = spawn(
  process.execPath,
  [path.join(HERE, "tools", "wscat.mjs"), "-c", `ws://127.0.0.1:${PORT}/ws`, "-x", "ping", "-w", "3"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let said = "";
pong.stdout.on("data", (d) => (said += d));
const code = await new Promise((resolve) => pong.on("exit", resolve));
if (code !== 0 || !said.includes("pong")) fail("the websocket /ws did not answer ping");
console.log("✓ websocket /ws answers ping");
app.kill("SIGTERM");
await new Promise((resolve) => app.on("exit", resolve));
