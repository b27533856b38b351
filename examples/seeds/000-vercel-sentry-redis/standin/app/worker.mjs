/**
 * The app's job worker: takes the jobs flow completions queue in Redis (a plan confirmation to
 * record), records each in PostgreSQL, and writes a heartbeat to Redis on every turn of its
 * loop, which readiness reads. `stallAt` (epoch ms) is the defect of a faulty version: from
 * then on the loop stops turning, as a worker stuck on a job does.
 */
export const QUEUE = "dateplan:jobs";
export const heartbeatKey = (version) => `dateplan:worker:${version}:heartbeat`;

export function startWorker({ redis, pool, version, stallAt, log }) {
  let stopped = false;
  let stalled = false;
  const loop = async () => {
    while (!stopped) {
      if (stallAt !== undefined && Date.now() >= stallAt) {
        stalled = true;
        log(`worker: stuck (the defect listed for ${version} in standin/defects.json)`);
        return;
      }
      try {
        await redis.set(heartbeatKey(version), String(Date.now()), { PX: 60_000 });
        const job = await redis.blPop(QUEUE, 0.2);
        if (job) {
          const { flow, id } = JSON.parse(job.element);
          await pool.query("insert into flow_events (flow, session_id, version) values ($1, $2, $3)", [
            flow,
            id,
            version,
          ]);
        }
      } catch (err) {
        if (!stopped) log(`worker: ${err.message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const done = loop();
  return {
    get stalled() {
      return stalled;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}
