/**
 * Users of ValueCanvas, played: a few requests a second through the ingress (the UI's
 * /health and page, the API's canvases, a job for the worker), so that the request rate,
 * error rate, latency and queue depth Prometheus records are those of real requests to the
 * version serving. Answers are not checked here; the runbook's checks and rules read them.
 */
export function startTraffic(url, everyMs = 100) {
  let n = 0;
  const hit = (path, method = "GET") =>
    fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(2000) })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
  const timer = setInterval(() => {
    n++;
    hit("/health");
    hit("/api/canvases");
    if (n % 2 === 0) hit("/api/jobs", "POST");
    if (n % 5 === 0) hit("/");
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}
