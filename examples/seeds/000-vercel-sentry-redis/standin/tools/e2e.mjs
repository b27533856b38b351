/**
 * `npm run test:e2e`: the app of this checkout, started on a free port against the stand-in's
 * PostgreSQL and Redis (DATABASE_URL, REDIS_URL), goes through one happy path of Flow 1 and of
 * Flow 5, a sign-in and a plan save; readiness must answer ready, and the worker must have
 * recorded both flows in PostgreSQL.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import pg from "pg";

for (const name of ["DATABASE_URL", "REDIS_URL"]) {
  if (!process.env[name]) {
    process.stderr.write(`e2e: ${name} is not set (run it with the stand-in's environment, standin.json)\n`);
    process.exit(1);
  }
}
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const version = `e2e-${process.pid}`;
const app = spawn(process.execPath, [new URL("../app/server.mjs", import.meta.url).pathname], {
  env: {
    PATH: process.env.PATH,
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    VERSION: version,
    PORT: String(port),
  },
  stdio: ["ignore", "inherit", "inherit"],
});
const base = `http://127.0.0.1:${port}`;
const call = async (method, path) => {
  const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
};
const failures = [];
const expect = (what, ok) => {
  process.stdout.write(`e2e: ${ok ? "ok  " : "FAIL"} ${what}\n`);
  if (!ok) failures.push(what);
};
try {
  for (let i = 0; ; i++) {
    try {
      if ((await call("GET", "/api/health/live")).status === 200) break;
    } catch {
      if (i > 100) throw new Error("the app did not start within 10s");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const flow of [1, 5]) {
    const started = await call("POST", `/api/flows/${flow}/start`);
    expect(`Flow ${flow} starts`, started.status === 200);
    const done = await call("POST", `/api/flows/${flow}/complete?id=${version}-${flow}`);
    expect(`Flow ${flow} completes`, done.status === 200 && done.body.completed === true);
  }
  expect("sign-in gives a session", (await call("POST", "/api/auth/session")).status === 200);
  expect("a plan is saved", (await call("POST", "/api/plans")).status === 201);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const ready = await call("GET", "/api/health/ready");
  expect(`readiness is ready (${JSON.stringify(ready.body)})`, ready.body.status === "ready");
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const rows = await db.query("select flow from flow_events where session_id like $1 order by flow", [
    `${version}-%`,
  ]);
  await db.end();
  expect("the worker recorded Flow 1 and Flow 5", rows.rows.map((r) => r.flow).join(",") === "1,5");
} catch (err) {
  failures.push(err.message);
  process.stderr.write(`e2e: ${err.message}\n`);
} finally {
  app.kill("SIGTERM");
}
process.exit(failures.length ? 1 : 0);
