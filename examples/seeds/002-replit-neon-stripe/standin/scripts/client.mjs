// A small client of RuR2's API for the team's scripts (smoke, perf, E2E): the App's URL comes
// from --base-url or RUR2_URL, the smoke user's password from SMOKE_TEST_PASSWORD.
export function baseUrl(argv = process.argv) {
  const i = argv.indexOf("--base-url");
  const url = i >= 0 ? argv[i + 1] : process.env.RUR2_URL;
  if (!url) throw new Error("no App URL: pass --base-url or set RUR2_URL");
  return url.replace(/\/$/, "");
}

export function client(base) {
  let token;
  async function call(method, path, { json, form, auth = true, admin = false } = {}) {
    const headers = {};
    if (json !== undefined) headers["content-type"] = "application/json";
    if (admin) headers.authorization = `Bearer ${process.env.RUR2_ADMIN_TOKEN}`;
    else if (auth && token) headers.authorization = `Bearer ${token}`;
    const started = performance.now();
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: json !== undefined ? JSON.stringify(json) : form,
      signal: AbortSignal.timeout(10_000),
    });
    const ms = performance.now() - started;
    const type = res.headers.get("content-type") ?? "";
    const body = type.includes("json") ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body, ms, type };
  }
  return {
    call,
    async login(email = "test@example.com", password = process.env.SMOKE_TEST_PASSWORD) {
      const r = await call("POST", "/api/auth/login", { json: { email, password }, auth: false });
      if (r.status !== 200) throw new Error(`login as ${email}: HTTP ${r.status}`);
      token = r.body.token;
      return r;
    },
  };
}

/** Runs named steps in order; prints one line each; exits 1 when one failed. */
export async function steps(title, list) {
  const failed = [];
  for (const [name, fn] of list) {
    const started = performance.now();
    try {
      const note = await fn();
      process.stdout.write(
        `ok   ${name} (${Math.round(performance.now() - started)}ms)${note ? `: ${note}` : ""}\n`,
      );
    } catch (e) {
      failed.push(`${name} (${e.message})`);
      process.stdout.write(`FAIL ${name}: ${e.message}\n`);
    }
  }
  // The last line is what a runbook step shows: it names what failed.
  process.stdout.write(
    `${title}: ${list.length - failed.length}/${list.length} passed${failed.length ? `; failed: ${failed.join(", ")}` : ""}\n`,
  );
  if (failed.length) process.exit(1);
}

export function expect(cond, message) {
  if (!cond) throw new Error(message);
}
