/**
 * The app's users: a steady stream of requests at the production alias, ten flows a second
 * across Flows 1-5 (start then complete), sign-ins and plan saves, so that the counters the
 * runbook's Prometheus signals read move as they do in production. Failures are not retried:
 * they are what the dashboards are for.
 */
export function startTraffic(base, everyMs = 100) {
  let tick = 0;
  let stopped = false;
  const post = (path) =>
    fetch(`${base}${path}`, { method: "POST", signal: AbortSignal.timeout(5000) })
      .then((res) => res.arrayBuffer())
      .catch(() => undefined);
  const turn = async () => {
    const n = tick++; // taken first: turns overlap when the app is slow
    const flow = (n % 5) + 1;
    await post(`/api/flows/${flow}/start`);
    await post(`/api/flows/${flow}/complete`);
    if (n % 4 === 0) await post("/api/auth/session");
    if (n % 2 === 0) await post("/api/plans");
  };
  const timer = setInterval(() => {
    if (!stopped) void turn();
  }, everyMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
