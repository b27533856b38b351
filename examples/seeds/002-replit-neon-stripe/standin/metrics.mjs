// What RuR2 reports at GET /api/metrics: the figures the seed's success criteria and rollback
// criteria name, each over a rolling window of the App's own requests (the seed's "rolling 5
// minutes"; the stand-in shortens it as the runbook's timeScale shortens the rules' windows).

const nearest = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null;
const rate = (bad, all) => (all ? bad / all : 0);

export class Metrics {
  constructor(windowMs) {
    this.windowMs = windowMs;
    this.requests = []; // { at, key, status, ms, user }
    this.queries = []; // { at, ms }
    this.logins = []; // { at, ok }
    this.payments = []; // { at, ok }
    this.webhooks = []; // { at, ok, ms }
    this.fatals = []; // { at }
  }

  request(key, status, ms, user) {
    this.requests.push({ at: Date.now(), key, status, ms, user });
  }
  query(ms) {
    this.queries.push({ at: Date.now(), ms });
  }
  login(ok) {
    this.logins.push({ at: Date.now(), ok });
  }
  payment(ok) {
    this.payments.push({ at: Date.now(), ok });
  }
  webhook(ok, ms) {
    this.webhooks.push({ at: Date.now(), ok, ms });
  }
  /** An unhandled error: what the seed's logs would show as a P0 error. */
  fatal() {
    this.fatals.push({ at: Date.now() });
  }

  prune() {
    const since = Date.now() - this.windowMs;
    for (const list of ["requests", "queries", "logins", "payments", "webhooks", "fatals"]) {
      const first = this[list].findIndex((e) => e.at >= since);
      this[list] = first < 0 ? [] : this[list].slice(first);
    }
  }

  snapshot(critical, criticalPaths) {
    this.prune();
    const reqs = this.requests;
    const ms = reqs.map((r) => r.ms).sort((a, b) => a - b);
    const perKey = new Map();
    for (const r of reqs) {
      const k = perKey.get(r.key) ?? { all: 0, bad: 0 };
      k.all++;
      if (r.status >= 500) k.bad++;
      perKey.set(r.key, k);
    }
    const criticalRates = [...perKey].filter(([k]) => critical.has(k)).map(([, v]) => rate(v.bad, v.all));
    // A critical path is down when most of its requests in the window failed.
    const down = Object.entries(criticalPaths).filter(([, key]) => {
      const k = perKey.get(key);
      return k && k.all >= 3 && k.bad / k.all > 0.5;
    });
    const webhookMs = this.webhooks.map((w) => w.ms).sort((a, b) => a - b);
    const queryMs = this.queries.map((q) => q.ms).sort((a, b) => a - b);
    const payments = this.payments.length;
    return {
      window_ms: this.windowMs,
      http: {
        requests: reqs.length,
        error_rate: rate(reqs.filter((r) => r.status >= 500).length, reqs.length),
        p95_ms: nearest(ms, 0.95) ?? 0,
        p99_ms: nearest(ms, 0.99) ?? 0,
        critical_endpoints: { max_error_rate: criticalRates.length ? Math.max(...criticalRates) : 0 },
      },
      critical_paths: { down: down.length, names: down.map(([n]) => n) },
      db: { query_p95_ms: nearest(queryMs, 0.95) ?? 0 },
      auth: { login_failure_rate: rate(this.logins.filter((l) => !l.ok).length, this.logins.length) },
      stripe: {
        payment_failures: this.payments.filter((p) => !p.ok).length,
        payment_success_rate: payments ? this.payments.filter((p) => p.ok).length / payments : null,
        webhook_failure_rate: this.webhooks.length
          ? rate(this.webhooks.filter((w) => !w.ok).length, this.webhooks.length)
          : null,
        webhook_p95_ms: nearest(webhookMs, 0.95) ?? 0,
      },
      logs: { p0_errors: this.fatals.length },
      users: { active: new Set(reqs.map((r) => r.user).filter((u) => u !== undefined)).size },
    };
  }
}
