/**
 * Where Gantry keeps its state: the embedded Postgres in the data folder (default), or any
 * Postgres named by GANTRY_DATABASE_URL. DBOS keeps its workflow checkpoints there; Gantry
 * keeps its event log, its deploy provider state and the identities of the people who act in
 * the `gantry` schema of the same database.
 */
import path from "node:path";
import pg from "pg";
import { openEmbedded } from "./embedded.js";

export interface DatabaseOptions {
  /** The data folder; default GANTRY_DATA_DIR or `.gantry` in the current folder. */
  dataDir?: string | undefined;
}

/** How a process opens the database: executors wait out an outage, other verbs only briefly. */
export interface OpenOptions {
  /**
   * How long to wait for an embedded server that another gantry process uses but that is not
   * running (stopped or crashed) before giving up with EmbeddedServerDown; default 5 s.
   */
  serverWaitMs?: number;
  /** How long one connection attempt may take; default 10 s. */
  connectTimeoutMs?: number;
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

export async function openDatabase(options: DatabaseOptions = {}, open: OpenOptions = {}): Promise<Database> {
  const dataDir = dataDirOf(options);
  const external = process.env.GANTRY_DATABASE_URL;
  const server = external
    ? undefined
    : await openEmbedded(dataDir, { serverWaitMs: open.serverWaitMs ?? 5000 });
  const url = external ?? server!.url;
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    connectionTimeoutMillis: open.connectTimeoutMs ?? 10_000,
  });
  // A connection that breaks (Postgres restarting) is dropped from the pool, not fatal.
  pool.on("error", () => undefined);
  try {
    await withRetry(() => migrate(pool));
  } catch (e) {
    await endPool(pool, 2000);
    await bounded(server?.release(), 5000);
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    dataDir,
    where: external ? hostOf(external) : `embedded Postgres in ${dataDir}`,
    pool,
    close: () => {
      // Bounded: a pool whose connections hang (the server gone without a word) never ends.
      closed ??= (async () => {
        await endPool(pool, 3000);
        await bounded(server?.release(), 35_000);
      })();
      return closed;
    },
  };
}

/**
 * Ends a pool: gracefully for up to `ms`, then by cutting the connections still checked out
 * (a query that never returns), so that none keeps the process alive.
 */
export async function endPool(pool: pg.Pool, ms: number): Promise<void> {
  const ended = pool.end().then(
    () => true,
    () => true,
  );
  if (await bounded(ended, ms, false)) return;
  const clients = (pool as unknown as { _clients?: unknown[] })._clients ?? [];
  for (const client of clients) {
    (client as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
  await bounded(ended, 1000);
}

/**
 * Waits for `work` at most `ms`, then goes on without it (its result, or `fallback` when it
 * failed or took too long). For clean-up that must never hold a stopping process forever.
 */
export async function bounded<T>(
  work: Promise<T> | undefined,
  ms: number,
  fallback?: T,
): Promise<T | undefined> {
  if (!work) return fallback;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.catch(() => fallback),
      new Promise<T | undefined>((resolve) => {
        timer = setTimeout(() => resolve(fallback), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
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
-- The hash chain of each log (src/store/chain.ts): rows of an earlier Gantry keep null.
ALTER TABLE gantry.events ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE gantry.events ADD COLUMN IF NOT EXISTS hash text;
CREATE INDEX IF NOT EXISTS events_log ON gantry.events (run_id, seq);
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
-- The executor's identity and its last proof of life (src/store/executor.ts).
ALTER TABLE gantry.executors ADD COLUMN IF NOT EXISTS token text;
ALTER TABLE gantry.executors ADD COLUMN IF NOT EXISTS backend_pid integer;
ALTER TABLE gantry.executors ADD COLUMN IF NOT EXISTS heartbeat_at timestamptz;
-- Other processes follow a run's events as they are written (EventStore.follow).
CREATE OR REPLACE FUNCTION gantry.notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gantry_events', NEW.seq || ' ' || NEW.run_id);
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS events_notify ON gantry.events;
CREATE TRIGGER events_notify AFTER INSERT ON gantry.events FOR EACH ROW EXECUTE FUNCTION gantry.notify_event();
-- Deploy provider state (src/store/provider-state.ts): what serves each service in each
-- environment, its last known good version, and one entry per real deploy or rollback.
CREATE TABLE IF NOT EXISTS gantry.deployments (
  service text NOT NULL,
  environment text NOT NULL,
  current_version text,
  last_known_good text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, environment)
);
CREATE TABLE IF NOT EXISTS gantry.deploy_entries (
  id bigserial PRIMARY KEY,
  service text NOT NULL,
  environment text NOT NULL,
  key text NOT NULL,
  action text NOT NULL CHECK (action IN ('deploy', 'rollback')),
  version text NOT NULL,
  result text NOT NULL CHECK (result IN ('in-progress', 'ok', 'failed', 'interrupted')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  message text,
  previous_version text,
  -- Unique per begin() call: a transaction retried after a dropped connection adds no second entry.
  attempt text UNIQUE,
  FOREIGN KEY (service, environment) REFERENCES gantry.deployments (service, environment)
);
CREATE INDEX IF NOT EXISTS deploy_entries_key ON gantry.deploy_entries (service, environment, key, id);
-- 0.8: a canary's traffic shifts are entries too.
ALTER TABLE gantry.deploy_entries DROP CONSTRAINT IF EXISTS deploy_entries_action_check;
ALTER TABLE gantry.deploy_entries ADD CONSTRAINT deploy_entries_action_check CHECK (action IN ('deploy', 'rollback', 'shift'));
-- What a provider needs to serve a version again (a Vercel deployment id, Kubernetes images).
CREATE TABLE IF NOT EXISTS gantry.deployed_versions (
  service text NOT NULL,
  environment text NOT NULL,
  version text NOT NULL,
  details jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, environment, version)
);
-- Who acts on Gantry (src/store/identities.ts): one row per person, and their tokens, each
-- kept as the SHA-256 of its secret only.
CREATE TABLE IF NOT EXISTS gantry.identities (
  name text PRIMARY KEY,
  roles text[] NOT NULL DEFAULT '{}',
  admin boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL
);
CREATE TABLE IF NOT EXISTS gantry.tokens (
  id text PRIMARY KEY,
  identity text NOT NULL REFERENCES gantry.identities (name),
  hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  revoked_by text,
  last_used_at timestamptz
);
CREATE INDEX IF NOT EXISTS tokens_identity ON gantry.tokens (identity);
-- Routines (src/store/routines.ts): one row per occurrence run, one per alert delivered.
CREATE TABLE IF NOT EXISTS gantry.routine_runs (
  service text NOT NULL,
  routine text NOT NULL,
  occurrence timestamptz NOT NULL,
  trigger text NOT NULL,
  environment text NOT NULL,
  passed boolean NOT NULL,
  results jsonb NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, routine, occurrence)
);
CREATE TABLE IF NOT EXISTS gantry.routine_alerts (
  service text NOT NULL,
  routine text NOT NULL,
  occurrence timestamptz NOT NULL,
  channel text NOT NULL,
  kind text NOT NULL,
  key text NOT NULL,
  detail text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, routine, occurrence, channel)
);
`;

/** Creates Gantry's schema when missing (idempotent; one process at a time). */
export async function migrate(pool: pg.Pool): Promise<void> {
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
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
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
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Query read timeout/i.test(
      e?.message ?? "",
    )
  );
}

/** How long an executor (`release`, `resume`, `worker`) waits out an unreachable database: GANTRY_DB_RETRY_SECONDS, default 120. */
export function executorRetryBudgetMs(): number {
  const s = Number(process.env.GANTRY_DB_RETRY_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

let budgetMs = executorRetryBudgetMs();
/** Sets how long `withRetry` retries in this process: the executor's budget, or a few seconds for other verbs. */
export function setRetryBudget(ms: number): void {
  budgetMs = ms;
}
export function retryBudgetMs(): number {
  return budgetMs;
}

const exhausted = new Set<(error: unknown) => void>();
/**
 * Calls `listener` (synchronously, before the error is thrown) whenever `withRetry` gives up
 * on a database that stayed unreachable for the whole budget. Returns an unsubscribe function.
 */
export function onRetryExhausted(listener: (error: unknown) => void): () => void {
  exhausted.add(listener);
  return () => exhausted.delete(listener);
}

/**
 * Retries an operation while Postgres is unreachable (restarting, failing over), for up to
 * `forMs` (default: this process's budget), then gives up with the last error.
 */
export async function withRetry<T>(fn: () => Promise<T>, forMs = budgetMs): Promise<T> {
  const deadline = Date.now() + forMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e)) throw e;
      if (Date.now() > deadline) {
        for (const listener of exhausted) listener(e);
        throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
