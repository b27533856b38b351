/**
 * The event log: one append-only record per run of everything that happened. Each event
 * has a key unique within its run, so writing the same event twice (a durable step replayed
 * after a crash) stores it once. A run's state is always derived from this log. Each log is
 * a hash chain (src/store/chain.ts): every append is chained to the log's last record, in one
 * transaction under the log's lock, so `gantry audit verify` finds a record changed, removed
 * or inserted behind Gantry's back.
 */
import pg from "pg";
import {
  atText,
  CHAIN_LOCK_SPACE,
  type ChainRow,
  chainHash,
  chainLockKey,
  chainLogs,
  chainRows,
} from "./chain.js";
import { withRetry } from "./database.js";
import type { NewEvent } from "./event-kinds.js";

export type { EventKind, NewEvent } from "./event-kinds.js";

/** The channel Postgres notifies on each new event: payload `<seq> <run id>`. */
export const EVENTS_CHANNEL = "gantry_events";

export interface RunEvent {
  /** On append: whether a control message sent to the run has not been received yet. */
  controlPending?: boolean;
  seq: number;
  runId: string;
  key: string;
  at: string;
  kind: string;
  step?: string | undefined;
  data: Record<string, unknown>;
}

type Listener = (event: RunEvent) => void;

export interface ConfigStructure {
  hash: string;
  /** Key paths with their types, e.g. `db.pool.max:number`: names, never values. */
  paths: string[];
  acceptedAt: string;
  acceptedBy: string;
}

export class EventStore {
  private listeners = new Set<Listener>();
  /** Per run, the last append this process started: appends are written in the order they are made. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Appends an event unless one with the same key exists. Returns the stored event, or
   * undefined for a duplicate. Appends of one run are written in call order, so a step's
   * start always precedes its output and its end.
   */
  append(runId: string, event: NewEvent): Promise<RunEvent | undefined> {
    const previous = this.tails.get(runId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.insert(runId, event));
    this.tails.set(runId, next);
    const forget = () => {
      if (this.tails.get(runId) === next) this.tails.delete(runId);
    };
    next.then(forget, forget);
    return next;
  }

  private async insert(runId: string, event: NewEvent): Promise<RunEvent | undefined> {
    const row = await withRetry(() => this.chained(runId, event));
    if (!row) return undefined;
    const stored: RunEvent = {
      controlPending: row.pending,
      seq: Number(row.seq),
      runId,
      key: event.key,
      at: row.at.toISOString(),
      kind: event.kind,
      step: event.step,
      data: event.data as Record<string, unknown>,
    };
    for (const listener of this.listeners) listener(stored);
    failpoint(event.key);
    return stored;
  }

  /**
   * One append in one transaction: the log's lock (appends of a log from any process are
   * chained one after another), its last hash and the database's clock, then the row with the
   * hash computed here. Returns the stored row, or undefined for a duplicate key.
   */
  private async chained(
    runId: string,
    event: NewEvent,
  ): Promise<{ seq: string; at: Date; pending: boolean } | undefined> {
    const client = await this.pool.connect();
    let broken = false;
    // A connection that breaks between two queries (Postgres restarting) fails the next one,
    // which withRetry retries; without a listener it would throw in the event loop.
    const onError = () => {
      broken = true;
    };
    client.on("error", onError);
    try {
      // The table lock the INSERT needs is taken first: reading the head and then upgrading to
      // it would deadlock with a process creating the schema (its DDL locks gantry.events).
      // A process stopped mid-append (SIGSTOP, Ctrl-Z) must not hold the log's lock for ever:
      // its transaction is ended after 10 s idle, and the append, retried, is a duplicate or new.
      await client.query(
        `BEGIN; SET LOCAL idle_in_transaction_session_timeout = '10s';
         LOCK TABLE gantry.events IN ROW EXCLUSIVE MODE;
         SELECT pg_advisory_xact_lock(${CHAIN_LOCK_SPACE}, ${chainLockKey(runId)})`,
      );
      const head = await client.query<{ prev: string | null; at: string }>(
        `SELECT (SELECT hash FROM gantry.events WHERE run_id = $1 AND hash IS NOT NULL ORDER BY seq DESC LIMIT 1) AS prev,
                ${atText("COALESCE($2::timestamptz, now())")} AS at`,
        [runId, event.at ?? null],
      );
      const { prev, at } = head.rows[0]!;
      const step = event.step ?? null;
      const hash = chainHash(prev, {
        run: runId,
        key: event.key,
        at,
        kind: event.kind,
        step,
        data: event.data,
      });
      const result = await client.query<{ seq: string; at: Date; pending: boolean }>(
        `INSERT INTO gantry.events (run_id, key, at, kind, step, data, prev_hash, hash)
         VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id, key) DO NOTHING
         RETURNING seq, at, EXISTS (
           SELECT 1 FROM gantry.events s
            WHERE s.run_id = $1 AND s.kind = 'control.sent'
              AND NOT EXISTS (SELECT 1 FROM gantry.events d WHERE d.run_id = $1 AND d.key = 'control:' || (s.data->>'id'))
         ) AS pending`,
        [runId, event.key, at, event.kind, step, event.data, prev, hash],
      );
      await client.query("COMMIT");
      return result.rows[0];
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  /**
   * Follows a run's events as they are written, by any process on this database (Postgres
   * LISTEN/NOTIFY, then the rows after the last one seen). `onEvent` returns true to stop.
   * Resolves when it stopped.
   */
  async follow(
    runId: string,
    afterSeq: number,
    onEvent: (e: RunEvent) => boolean | undefined,
  ): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString() });
    client.on("error", () => undefined);
    await client.connect();
    let last = afterSeq;
    let done = false;
    let wake: () => void = () => undefined;
    client.on("notification", (n) => {
      if (n.channel === EVENTS_CHANNEL && n.payload?.endsWith(` ${runId}`)) wake();
    });
    try {
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      while (!done) {
        const notified = new Promise<void>((resolve) => {
          wake = resolve;
          // A periodic look as well: a notification is lost if the connection drops.
          setTimeout(resolve, 5000).unref();
        });
        for (const e of await this.list(runId, last)) {
          last = e.seq;
          if (onEvent(e)) {
            done = true;
            break;
          }
        }
        if (!done) await notified;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private connectionString(): string {
    const options = (this.pool as unknown as { options: pg.PoolConfig }).options;
    if (!options.connectionString) throw new Error("the event store's pool has no connection string");
    return options.connectionString;
  }

  /** The event of a run with this key, if it was written. */
  async find(runId: string, key: string): Promise<RunEvent | undefined> {
    const result = await withRetry(() =>
      this.pool.query(
        "SELECT seq, run_id, key, at, kind, step, data FROM gantry.events WHERE run_id = $1 AND key = $2",
        [runId, key],
      ),
    );
    return result.rows[0] ? toEvent(result.rows[0]) : undefined;
  }

  /** Calls `listener` for every event this process appends. Returns an unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async list(runId: string, afterSeq = 0): Promise<RunEvent[]> {
    const result = await withRetry(() =>
      this.pool.query(
        "SELECT seq, run_id, key, at, kind, step, data FROM gantry.events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
        [runId, afterSeq],
      ),
    );
    return result.rows.map(toEvent);
  }

  /** The records of one log (a run's, or ACTIONS_LOG) with their hashes, in seq order, for verifying the chain. */
  chain(log: string): AsyncGenerator<ChainRow> {
    return chainRows(this.pool, log);
  }

  /** Every log in the database (each run's, the actions log) with its number of records, oldest first. */
  logs(): Promise<Array<{ log: string; records: number }>> {
    return chainLogs(this.pool);
  }

  /** Run ids, newest first, optionally only those of one environment. */
  async runs(options: { environment?: string; limit?: number } = {}): Promise<string[]> {
    const result = await withRetry(() =>
      this.pool.query<{ run_id: string }>(
        `SELECT run_id FROM gantry.events WHERE kind = 'run.created'
           AND ($1::text IS NULL OR data->>'environment' = $1)
         ORDER BY seq DESC LIMIT $2`,
        [options.environment ?? null, options.limit ?? 20],
      ),
    );
    return result.rows.map((r) => r.run_id);
  }

  /** Runs that have not finished, oldest first. */
  async unfinished(): Promise<string[]> {
    const result = await withRetry(() =>
      this.pool.query<{ run_id: string }>(
        `SELECT c.run_id FROM gantry.events c
          WHERE c.kind = 'run.created'
            AND NOT EXISTS (SELECT 1 FROM gantry.events f WHERE f.run_id = c.run_id AND f.kind = 'run.finished')
          ORDER BY c.seq`,
      ),
    );
    return result.rows.map((r) => r.run_id);
  }

  /** Runs with a message queued that was neither delivered nor given up on (its courier was cut off). */
  async undelivered(): Promise<string[]> {
    const result = await withRetry(() =>
      this.pool.query<{ run_id: string }>(
        `SELECT DISTINCT q.run_id FROM gantry.events q
          WHERE q.kind = 'notify.queued'
            AND NOT EXISTS (
              SELECT 1 FROM gantry.events d
               WHERE d.run_id = q.run_id
                 AND d.key IN ((q.data->>'message') || ':sent', (q.data->>'message') || ':failed'))`,
      ),
    );
    return result.rows.map((r) => r.run_id);
  }

  /** Runs that released `version` to `environment`, with when they finished. */
  async releasesOf(environment: string, version: string): Promise<Array<{ runId: string; at: string }>> {
    const result = await withRetry(() =>
      this.pool.query<{ run_id: string; at: Date }>(
        `SELECT f.run_id, f.at FROM gantry.events f
           JOIN gantry.events c ON c.run_id = f.run_id AND c.kind = 'run.created'
          WHERE f.kind = 'run.finished' AND f.data->>'outcome' = 'released'
            AND c.data->>'environment' = $1 AND f.data->>'version' = $2
          ORDER BY f.seq`,
        [environment, version],
      ),
    );
    return result.rows.map((r) => ({ runId: r.run_id, at: r.at.toISOString() }));
  }

  async cachedGate(sha: string, command: string): Promise<{ runId: string; at: string } | undefined> {
    const result = await withRetry(() =>
      this.pool.query<{ run_id: string; passed_at: Date }>(
        "SELECT run_id, passed_at FROM gantry.gate_cache WHERE sha = $1 AND command = $2",
        [sha, command],
      ),
    );
    const row = result.rows[0];
    return row ? { runId: row.run_id, at: row.passed_at.toISOString() } : undefined;
  }

  /** The last accepted configuration structure of an environment (drift), if any. */
  async configStructure(service: string, environment: string): Promise<ConfigStructure | undefined> {
    const result = await withRetry(() =>
      this.pool.query<{ hash: string; paths: string[]; accepted_at: Date; accepted_by: string }>(
        "SELECT hash, paths, accepted_at, accepted_by FROM gantry.config_structure WHERE service = $1 AND environment = $2",
        [service, environment],
      ),
    );
    const row = result.rows[0];
    return row
      ? {
          hash: row.hash,
          paths: row.paths,
          acceptedAt: row.accepted_at.toISOString(),
          acceptedBy: row.accepted_by,
        }
      : undefined;
  }

  async acceptConfigStructure(
    service: string,
    environment: string,
    structure: { hash: string; paths: string[] },
    by: string,
  ): Promise<void> {
    await withRetry(() =>
      this.pool.query(
        `INSERT INTO gantry.config_structure (service, environment, hash, paths, accepted_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (service, environment) DO UPDATE SET hash = $3, paths = $4, accepted_by = $5, accepted_at = now()`,
        [service, environment, structure.hash, JSON.stringify(structure.paths), by],
      ),
    );
  }

  async cacheGate(sha: string, command: string, runId: string): Promise<void> {
    await withRetry(() =>
      this.pool.query(
        "INSERT INTO gantry.gate_cache (sha, command, run_id) VALUES ($1, $2, $3) ON CONFLICT (sha, command) DO NOTHING",
        [sha, command, runId],
      ),
    );
  }
}

function toEvent(row: {
  seq: string;
  run_id: string;
  key: string;
  at: Date;
  kind: string;
  step: string | null;
  data: Record<string, unknown>;
}): RunEvent {
  return {
    seq: Number(row.seq),
    runId: row.run_id,
    key: row.key,
    at: row.at.toISOString(),
    kind: row.kind,
    step: row.step ?? undefined,
    data: row.data,
  };
}

/**
 * Crash injection for Gantry's own tests: GANTRY_FAILPOINT=<event key>[@<ms>] kills this
 * process with SIGKILL right after that event is written (or <ms> later), the way a power
 * cut or the OOM killer would. Unset in normal use.
 */
const FAILPOINT = process.env.GANTRY_FAILPOINT;
export function failpoint(key: string): void {
  if (!FAILPOINT) return;
  const [target, delay] = FAILPOINT.split("@");
  if (key !== target) return;
  const kill = () => process.kill(process.pid, "SIGKILL");
  if (delay) setTimeout(kill, Number(delay));
  else kill();
}
