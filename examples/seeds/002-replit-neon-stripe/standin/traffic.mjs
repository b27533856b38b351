// RuR2's users, so that the App's error rate and latencies are about real requests: a few
// signed-in users browse and create assessments and start Checkout sessions, and "Stripe"
// delivers signed webhook events, about 12 requests a second in all, through the published URL.
// They hold back while the App shows its maintenance banner, as people would.
import { createHmac } from "node:crypto";

export function startTraffic({ url, users, webhookSecret }) {
  let running = true;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const call = async (method, path, token, json, headers = {}) => {
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(json ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: json ? JSON.stringify(json) : undefined,
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    } catch {
      return { status: 0 };
    }
  };
  async function user({ email, password, facilityId }) {
    let token;
    for (let i = 0; running; i++) {
      const health = await call("GET", "/health");
      if (health.body?.maintenance) {
        await sleep(500);
        continue;
      }
      if (!token || i % 40 === 0)
        token = (await call("POST", "/api/auth/login", undefined, { email, password })).body?.token;
      const list = await call("GET", "/api/assessments", token);
      const first = Array.isArray(list.body) ? list.body[0] : undefined;
      if (first) await call("GET", `/api/assessments/${first.id}`, token);
      if (i % 8 === 0) await call("POST", "/api/assessments", token, { name: `Site audit ${i}`, facilityId });
      if (i % 10 === 0)
        await call("POST", "/api/payments/create-checkout", token, { priceId: "price_team_business" });
      await sleep(300);
    }
  }
  async function stripe() {
    while (running) {
      const raw = JSON.stringify({ type: "invoice.paid", data: { object: { customer: "cus_standin" } } });
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac("sha256", webhookSecret).update(`${t}.${raw}`).digest("hex");
      // Stripe retries a delivery the App refused (503 while webhook processing is paused
      // during a rollback) only after a back-off, not at once.
      let pause = 1000;
      try {
        const res = await fetch(`${url}/api/payments/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` },
          body: raw,
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) pause = 30_000;
      } catch {
        pause = 30_000; // the App is being replaced; Stripe retries later
      }
      await sleep(pause);
    }
  }
  const all = [...users.map(user), stripe()];
  return {
    async stop() {
      running = false;
      await Promise.allSettled(all);
    },
  };
}
