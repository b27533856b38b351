/**
 * Readiness as the app answers GET /api/health/ready: ready only when PostgreSQL answers, Redis
 * answers and the job worker has written its heartbeat (in Redis) recently. Kept apart from the
 * HTTP server so that its unit tests can feed it answers.
 */

/** A heartbeat older than this means the worker has stopped taking jobs. */
export const HEARTBEAT_STALE_MS = 1000;

/**
 * `probes`: async functions that throw when their dependency is down; `heartbeat()` resolves to
 * the worker's last heartbeat (epoch ms) or null.
 */
export async function readiness({ postgres, redis, heartbeat }, now = Date.now()) {
  const failing = [];
  const settle = async (name, probe) => {
    try {
      await probe();
    } catch (err) {
      failing.push(`${name}: ${err.message}`);
    }
  };
  await Promise.all([settle("postgres", postgres), settle("redis", redis)]);
  if (!failing.some((f) => f.startsWith("redis"))) {
    const beat = await heartbeat().catch(() => null);
    if (beat === null) failing.push("worker: no heartbeat yet");
    else if (now - beat > HEARTBEAT_STALE_MS) failing.push(`worker: last heartbeat ${now - beat}ms ago`);
  }
  return failing.length === 0 ? { status: "ready" } : { status: "not_ready", failing };
}
