// `npm run test:perf`: the team's performance benchmark, against the App at RUR2_URL. Fails
// when a budget of the seed's testing phase is exceeded: API responses < 200ms P95 and
// database queries < 100ms (the App's own query P95). The seed's page loads (< 2s P95) have no
// page to load here: RuR2's stand-in serves only its API.
import { baseUrl, client, expect, steps } from "./client.mjs";

const app = client(baseUrl());
await app.login();
const p95 = (xs) => xs.sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1];
const bench = (method, path, options) => async () => {
  const ms = [];
  for (let i = 0; i < 30; i++) {
    const r = await app.call(method, path, options);
    expect(r.status < 500, `${method} ${path}: HTTP ${r.status}`);
    ms.push(r.ms);
  }
  expect(p95(ms) < 200, `P95 ${p95(ms).toFixed(1)}ms, budget 200ms`);
  return `P95 ${p95(ms).toFixed(1)}ms`;
};
await steps("performance", [
  ["GET /health", bench("GET", "/health", { auth: false })],
  ["GET /api/health", bench("GET", "/api/health", { auth: false })],
  ["GET /api/assessments", bench("GET", "/api/assessments")],
  ["GET /api/auth/me", bench("GET", "/api/auth/me")],
  [
    "database queries",
    async () => {
      const r = await app.call("GET", "/api/metrics", { admin: true });
      expect(r.body.db.query_p95_ms < 100, `query P95 ${r.body.db.query_p95_ms}ms, budget 100ms`);
      return `query P95 ${r.body.db.query_p95_ms.toFixed(1)}ms`;
    },
  ],
]);
