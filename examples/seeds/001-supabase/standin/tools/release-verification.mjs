/**
 * The team's release-verification flows (`npx playwright test e2e/release-verification`), as the
 * stand-in runs them: over HTTP against PLAYWRIGHT_BASE_URL, signed in with SMOKE_USER_PASSWORD
 * as that environment's smoke account (E2E_USERS: base URL → email, as the suite's per-environment
 * configuration would say; the stand-in app has no pages, so no browser). Deployment 6: login and
 * session persistence, document create/edit/delete, beneficiary delete constraints. Prints one
 * line per test, as Playwright's list reporter does, and exits 1 when one fails.
 */
const base = process.env.PLAYWRIGHT_BASE_URL;
if (!base || process.argv[2] !== "test") {
  console.error("usage: PLAYWRIGHT_BASE_URL=… playwright test e2e/release-verification");
  process.exit(1);
}
const email = JSON.parse(process.env.E2E_USERS ?? "{}")[base];
if (!email) {
  console.error(`release-verification: no account for ${base} in E2E_USERS`);
  process.exit(1);
}
const call = async (method, path, { token, json } = {}) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json ? { "content-type": "application/json" } : {}),
    },
    ...(json ? { body: JSON.stringify(json) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};
const expectStatus = (res, ...wanted) => {
  if (!wanted.includes(res.status)) throw new Error(`status ${res.status} (expected ${wanted.join(" or ")})`);
  return res;
};

let token;
let documentId;
const tests = [
  [
    "login and session persistence",
    async () => {
      const login = expectStatus(
        await call("POST", "/api/auth/login", {
          json: { email, password: process.env.SMOKE_USER_PASSWORD },
        }),
        200,
      );
      token = login.body.token;
      const session = expectStatus(await call("GET", "/api/auth/session", { token }), 200);
      if (session.body.user?.email !== email) throw new Error("the session is another user's");
    },
  ],
  [
    "document create",
    async () => {
      documentId = expectStatus(await call("POST", "/api/documents", { token, json: { title: "e2e" } }), 201)
        .body.id;
    },
  ],
  [
    "document edit",
    async () => {
      const edited = expectStatus(
        await call("PATCH", `/api/documents/${documentId}`, { token, json: { title: "e2e (edited)" } }),
        200,
      );
      if (edited.body.title !== "e2e (edited)") throw new Error(`title is ${edited.body.title}`);
    },
  ],
  [
    "document delete",
    async () => {
      expectStatus(await call("DELETE", `/api/documents/${documentId}`, { token }), 204);
      expectStatus(
        await call("PATCH", `/api/documents/${documentId}`, { token, json: { title: "gone" } }),
        404,
      );
    },
  ],
  [
    "beneficiary delete constraint",
    async () => {
      expectStatus(await call("DELETE", "/api/beneficiaries/ben_smoke_locked", { token }), 409);
    },
  ],
];

let failed = 0;
for (const [i, [name, test]] of tests.entries()) {
  const started = Date.now();
  try {
    await test();
    console.log(`  ✓  ${i + 1} release-verification › ${name} (${Date.now() - started}ms)`);
  } catch (err) {
    failed++;
    console.log(`  ✘  ${i + 1} release-verification › ${name}: ${err.message}`);
    // Later flows need the session: they cannot run without it.
    if (!token) break;
  }
}
console.log(failed ? `  ${failed} failed` : `  ${tests.length} passed`);
process.exit(failed ? 1 : 0);
