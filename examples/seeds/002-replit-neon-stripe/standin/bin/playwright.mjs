#!/usr/bin/env node
// `npx playwright test --reporter=json`: RuR2's E2E regression suite as the stand-in has it.
// Playwright's API testing (playwright-core's request context) drives the App at RUR2_URL
// through its user scenarios; the report on stdout has the shape of Playwright's JSON reporter
// (stats.expected / stats.unexpected), which the runbook's e2e gate reads. Exit 1 when a
// scenario failed, as Playwright does.
import { request } from "playwright-core";

const args = process.argv.slice(2);
if (args[0] !== "test") {
  process.stderr.write("playwright (RuR2 stand-in): only `playwright test [--reporter=json]`\n");
  process.exit(2);
}
const json = args.includes("--reporter=json");
const base = process.env.RUR2_URL;
const api = await request.newContext({ baseURL: base });
const login = async () => {
  const r = await api.post("/api/auth/login", {
    data: { email: "test@example.com", password: process.env.SMOKE_TEST_PASSWORD },
  });
  if (!r.ok()) throw new Error(`login: HTTP ${r.status()}`);
  return { Authorization: `Bearer ${(await r.json()).token}` };
};
const check = (cond, message) => {
  if (!cond) throw new Error(message);
};

const scenarios = {
  "auth › logs in and reads the session": async () => {
    const me = await api.get("/api/auth/me", { headers: await login() });
    check(me.ok() && (await me.json()).email === "test@example.com", `me: HTTP ${me.status()}`);
  },
  "auth › refuses a wrong password": async () => {
    const r = await api.post("/api/auth/login", {
      data: { email: "test@example.com", password: "not-the-password" },
    });
    check(r.status() === 401, `HTTP ${r.status()}`);
  },
  "assessments › creates, lists and reads an assessment": async () => {
    const headers = await login();
    const c = await api.post("/api/assessments", {
      headers,
      data: { name: "E2E Assessment", facilityId: 1 },
    });
    check(c.status() === 201, `create: HTTP ${c.status()}`);
    const { id } = await c.json();
    const list = await (await api.get("/api/assessments", { headers })).json();
    check(
      list.some((a) => a.id === id),
      "the new assessment is not listed",
    );
    const one = await api.get(`/api/assessments/${id}`, { headers });
    check((await one.json()).questions.length > 0, "no questions");
  },
  "assessments › another user's facility is refused": async () => {
    const c = await api.post("/api/assessments", {
      headers: await login(),
      data: { name: "E2E Assessment", facilityId: 2 },
    });
    check(c.status() === 404, `HTTP ${c.status()}`);
  },
  "payments › starts a Checkout session": async () => {
    const r = await api.post("/api/payments/create-checkout", {
      headers: await login(),
      data: { priceId: "price_test_123" },
    });
    check(r.ok() && (await r.json()).url.startsWith("https://checkout.stripe.com/"), `HTTP ${r.status()}`);
  },
  "payments › rejects an unsigned webhook": async () => {
    const r = await api.post("/api/payments/webhook", { data: { type: "checkout.session.completed" } });
    check(r.status() === 400, `HTTP ${r.status()}`);
  },
};

const results = [];
for (const [title, run] of Object.entries(scenarios)) {
  const started = Date.now();
  try {
    await run();
    results.push({ title, status: "expected", duration: Date.now() - started });
  } catch (e) {
    results.push({ title, status: "unexpected", duration: Date.now() - started, error: e.message });
  }
}
await api.dispose();
const stats = {
  expected: results.filter((r) => r.status === "expected").length,
  unexpected: results.filter((r) => r.status === "unexpected").length,
  flaky: 0,
  skipped: 0,
};
if (json) {
  const specs = results.map((r) => ({
    title: r.title,
    ok: r.status === "expected",
    tests: [
      {
        status: r.status,
        results: [{ duration: r.duration, ...(r.error ? { error: { message: r.error } } : {}) }],
      },
    ],
  }));
  process.stdout.write(
    `${JSON.stringify({ config: { baseURL: base }, suites: [{ title: "rur2", specs }], stats }, null, 2)}\n`,
  );
} else {
  for (const r of results)
    process.stdout.write(
      `${r.status === "expected" ? "✓" : "✘"} ${r.title}${r.error ? `: ${r.error}` : ""}\n`,
    );
}
process.exit(stats.unexpected ? 1 : 0);
