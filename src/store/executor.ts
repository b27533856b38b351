/**
 * One executor per database: the gantry process that runs releases (`release`, `resume`,
 * `worker`) holds a Postgres advisory lock on a connection of its own for as long as it
 * runs. Postgres drops the lock when that process dies, however it dies, so a killed
 * gantry never leaves the database "in use". Other verbs only read who holds it.
 */
import { hostname } from "node:os";
import pg from "pg";

const LOCK = [7411, 1] as const;

export interface ExecutorInfo {
  pid: number;
  host: string;
  verb: string;
  startedAt: string;
}

export interface ExecutorLock {
  release(): Promise<void>;
}

export class DatabaseInUse extends Error {
  constructor(readonly holder: ExecutorInfo | undefined) {
    super("in use");
  }
}

export async function acquireExecutor(url: string, verb: string): Promise<ExecutorLock> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
    ...LOCK,
  ]);
  if (!rows[0]?.ok) {
    const holder = await currentExecutor(client);
    await client.end();
    throw new DatabaseInUse(holder);
  }
  await client.query("DELETE FROM gantry.executors");
  await client.query("INSERT INTO gantry.executors (pid, host, verb) VALUES ($1, $2, $3)", [
    process.pid,
    hostname(),
    verb,
  ]);
  return {
    release: async () => {
      await client.query("DELETE FROM gantry.executors WHERE pid = $1", [process.pid]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** The live executor, if any. */
export async function currentExecutor(client: pg.Pool | pg.Client): Promise<ExecutorInfo | undefined> {
  const held = await client.query(
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND granted",
    [...LOCK],
  );
  if (held.rowCount === 0) return undefined;
  const { rows } = await client.query<{ pid: number; host: string; verb: string; started_at: Date }>(
    "SELECT pid, host, verb, started_at FROM gantry.executors ORDER BY started_at DESC LIMIT 1",
  );
  const row = rows[0];
  return row
    ? { pid: row.pid, host: row.host, verb: row.verb, startedAt: row.started_at.toISOString() }
    : { pid: 0, host: "?", verb: "?", startedAt: "" };
}

export function describeExecutor(e: ExecutorInfo | undefined): string {
  if (!e) return "another gantry process";
  const here = e.host === hostname() ? "" : ` on ${e.host}`;
  return `gantry ${e.verb} (pid ${e.pid}${here}, since ${e.startedAt.slice(0, 19).replace("T", " ")} UTC)`;
}
