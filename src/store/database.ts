/**
 * Where Gantry keeps its state: the embedded Postgres in the data folder (default), or any
 * Postgres named by GANTRY_DATABASE_URL. DBOS keeps its workflow checkpoints there; Gantry
 * keeps its event log in the `gantry` schema of the same database.
 */
import path from "node:path";
import pg from "pg";
import { openEmbedded } from "./embedded.js";

export interface DatabaseOptions {
  /** The data folder; default GANTRY_DATA_DIR or `.gantry` in the current folder. */
  dataDir?: string | undefined;
}

export interface Database {
  url: string;
  /** The data folder (also used with an external database, for local state such as local-process services). */
  dataDir: string;
  /** "embedded" or the external server's host, for messages. */
  where: string;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function dataDirOf(options: DatabaseOptions = {}): string {
  return path.resolve(options.dataDir ?? process.env.GANTRY_DATA_DIR ?? ".gantry");
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const dataDir = dataDirOf(options);
  const external = process.env.GANTRY_DATABASE_URL;
  const server = external ? undefined : await openEmbedded(dataDir);
  const url = external ?? server!.url;
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 10_000 });
  // A connection that breaks (Postgres restarting) is dropped from the pool, not fatal.
  pool.on("error", () => undefined);
  await withRetry(() => migrate(pool));
  return {
    url,
    dataDir,
    where: external ? hostOf(external) : `embedded Postgres in ${dataDir}`,
    pool,
    close: async () => {
      await pool.end().catch(() => undefined);
      await server?.release();
    },
  };
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return "GANTRY_DATABASE_URL";
  }
}

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS gantry;
CREATE TABLE IF NOT EXISTS gantry.events (
  seq bigserial PRIMARY KEY,
  run_id text NOT NULL,
  key text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL,
  step text,
  data jsonb NOT NULL DEFAULT '{}',
  UNIQUE (run_id, key)
);
CREATE INDEX IF NOT EXISTS events_kind ON gantry.events (kind, run_id);
CREATE TABLE IF NOT EXISTS gantry.gate_cache (
  sha text NOT NULL,
  command text NOT NULL,
  run_id text NOT NULL,
  passed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sha, command)
);
CREATE TABLE IF NOT EXISTS gantry.config_structure (
  service text NOT NULL,
  environment text NOT NULL,
  hash text NOT NULL,
  paths jsonb NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  accepted_by text NOT NULL,
  PRIMARY KEY (service, environment)
);
CREATE TABLE IF NOT EXISTS gantry.executors (
  pid integer NOT NULL,
  host text NOT NULL,
  verb text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);
`;

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // One migrating process at a time: CREATE … IF NOT EXISTS races on catalog rows.
    await client.query("SELECT pg_advisory_lock(7411, 0)");
    await client.query(SCHEMA);
  } finally {
    await client.query("SELECT pg_advisory_unlock(7411, 0)").catch(() => undefined);
    client.release();
  }
}

const TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "57P01",
  "57P02",
  "57P03",
  "08006",
  "08001",
  "08003",
]);

/** True for errors that mean "Postgres is not there right now" rather than a bad query. */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code !== undefined && TRANSIENT.has(e.code)) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(e?.message ?? "")
  );
}

/**
 * Retries an operation while Postgres is unreachable (restarting, failing over), for up to
 * `forMs`, then gives up with the last error.
 */
export async function withRetry<T>(fn: () => Promise<T>, forMs = 120_000): Promise<T> {
  const deadline = Date.now() + forMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
