/**
 * One executor per database: the gantry process that runs releases (`release`, `resume`,
 * `worker`) holds a Postgres advisory lock on a connection of its own for as long as it
 * runs. Postgres drops the lock when that process dies, however it dies, so a killed
 * gantry never leaves the database "in use". Other verbs only read who holds it.
 *
 * The lock also goes when its connection does (Postgres restarted, the connection cut), with
 * the executor still alive. So the holder is known by a row of `gantry.executors` too: a
 * random token, and a heartbeat it refreshes every HEARTBEAT_MS on the lock connection while
 * checking that this very session holds the lock. After losing the connection, the holder
 * reconnects and takes the lock back, provided its row is still there. A newcomer that finds
 * the lock free but the previous holder's row fresh (a heartbeat less than STALE_MS old, from
 * a process that is alive) is refused as if the lock were held: the holder is reconnecting.
 * Only a silent holder's row is replaced, and only by a process holding the lock; the holder
 * that finds its row gone has lost, and stops.
 *
 * The fence: `fence()` resolves only while this process holds the lock and proved it less
 * than FENCE_MS ago (a third of STALE_MS, so a holder stops acting long before anyone may
 * take over). Every database write and every DBOS step of the engine goes through it
 * (src/engine/runtime.ts): a process that is not the proven holder does nothing, and one that
 * has lost never does anything again.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import pg from "pg";
import { retryBudgetMs } from "./database.js";
import { alive } from "./lock.js";

const LOCK = [7411, 1] as const;
/** How often the holder proves, on its lock connection, that it still holds the lock. */
const HEARTBEAT_MS = 2000;
/** A heartbeat (or a reconnection) that takes longer than this means the connection is gone. */
const PROBE_TIMEOUT_MS = 5000;
/** The holder acts only within this long of its last proof. */
const FENCE_MS = 6000;
/** A holder whose heartbeat is older than this, and whose lock is gone, may be replaced. */
export const STALE_MS = 15_000;

export interface ExecutorInfo {
  pid: number;
  host: string;
  verb: string;
  startedAt: string;
  /** The lock is free, but this executor's heartbeat is fresh: it is reconnecting to take it back. */
  reconnecting?: boolean;
}

/** Why this process may no longer execute runs. */
export interface LockLost {
  /** `taken`: another executor replaced this one; `unreachable`: the database stayed away past the retry budget. */
  why: "taken" | "unreachable";
  /** The executor that holds the lock now, when known. */
  holder?: ExecutorInfo | undefined;
  /** The last database error, for `unreachable`. */
  error?: string | undefined;
}

export interface ExecutorLock {
  /** Whether this process holds the lock now and proved it recently. */
  readonly owned: boolean;
  /**
   * Resolves at once while owned; waits while the lock is being taken back after a reconnect;
   * never resolves once lost, halted or released.
   */
  fence(): Promise<void>;
  /** Resolves once, when this process has lost the right to execute (never after release). */
  readonly lost: Promise<LockLost>;
  /** Gives up for good (the caller found the database unreachable too long). */
  abandon(why: LockLost): void;
  /** Closes the fence for good, keeping the lock until release: this process is stopping. */
  halt(): void;
  release(): Promise<void>;
}

export class DatabaseInUse extends Error {
  constructor(readonly holder: ExecutorInfo | undefined) {
    super("in use");
  }
}

export interface AcquireOptions {
  /** Called synchronously when the lock is lost, before `lost` resolves. */
  onLost?: (lost: LockLost) => void;
}

/** Takes the executor lock, or throws DatabaseInUse naming the holder. */
export async function acquireExecutor(
  url: string,
  verb: string,
  options: AcquireOptions = {},
): Promise<ExecutorLock> {
  const token = randomUUID();
  const client = await connect(url);
  try {
    await take(client, token, verb);
  } catch (e) {
    destroy(client);
    throw e;
  }
  return new Keeper(url, token, client, options.onLost);
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    keepAlive: true,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    application_name: "gantry executor lock",
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (e) {
    destroy(client);
    throw e;
  }
  return client;
}

/** Ends a client without waiting for a server that may never answer. */
function destroy(client: pg.Client | undefined): void {
  if (!client) return;
  client.end().catch(() => undefined);
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

function timeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the database in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function take(client: pg.Client, token: string, verb: string): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
    ...LOCK,
  ]);
  if (!rows[0]?.ok) throw new DatabaseInUse(await currentExecutor(client));
  const previous = await liveHolder(client);
  if (previous) {
    await client.query("SELECT pg_advisory_unlock($1, $2)", [...LOCK]).catch(() => undefined);
    throw new DatabaseInUse(previous);
  }
  await client.query("BEGIN");
  await client.query("DELETE FROM gantry.executors");
  await client.query(
    `INSERT INTO gantry.executors (pid, host, verb, token, backend_pid, heartbeat_at)
     VALUES ($1, $2, $3, $4, pg_backend_pid(), now())`,
    [process.pid, hostname(), verb, token],
  );
  await client.query("COMMIT");
}

interface Row {
  pid: number;
  host: string;
  verb: string;
  started_at: Date;
  fresh: boolean | null;
}

/** A recorded executor that is alive by its heartbeat (and, on this host, by its pid), without the lock. */
async function liveHolder(client: pg.Pool | pg.Client): Promise<ExecutorInfo | undefined> {
  const { rows } = await client.query<Row>(
    `SELECT pid, host, verb, started_at, heartbeat_at > now() - make_interval(secs => $1) AS fresh
       FROM gantry.executors ORDER BY started_at DESC`,
    [STALE_MS / 1000],
  );
  for (const row of rows) {
    if (!row.fresh) continue;
    if (row.host === hostname() && (row.pid === process.pid || !alive(row.pid))) continue;
    return { ...info(row), reconnecting: true };
  }
  return undefined;
}

function info(row: Row): ExecutorInfo {
  return { pid: row.pid, host: row.host, verb: row.verb, startedAt: row.started_at.toISOString() };
}

const HEARTBEAT_SQL = `UPDATE gantry.executors SET heartbeat_at = now() WHERE token = $1
  RETURNING EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $2 AND objid = $3
                      AND objsubid = 2 AND granted AND pid = pg_backend_pid()) AS held`;

type State = "held" | "retaking" | "lost" | "released";

class Keeper implements ExecutorLock {
  private state: State = "held";
  private halted = false;
  private client: pg.Client | undefined;
  /** performance.now() when the last successful proof was sent. */
  private proof = performance.now();
  private downSince = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  private readonly waiters = new Set<() => void>();
  private resolveLost!: (lost: LockLost) => void;
  readonly lost = new Promise<LockLost>((resolve) => {
    this.resolveLost = resolve;
  });

  constructor(
    private readonly url: string,
    private readonly token: string,
    client: pg.Client,
    private readonly onLost: ((lost: LockLost) => void) | undefined,
  ) {
    this.attach(client);
    this.schedule();
  }

  get owned(): boolean {
    return (
      this.state === "held" &&
      !this.halted &&
      this.client !== undefined &&
      performance.now() - this.proof < FENCE_MS
    );
  }

  fence(): Promise<void> {
    if (this.owned) return Promise.resolve();
    if (this.halted || this.state === "lost" || this.state === "released")
      return new Promise(() => undefined);
    return new Promise((resolve) => {
      this.waiters.add(resolve);
      // Held but not proved lately (the event loop was stalled): prove it now.
      if (this.state === "held") this.schedule(0);
    });
  }

  abandon(why: LockLost): void {
    this.lose(why);
  }

  halt(): void {
    this.halted = true;
    this.waiters.clear();
  }

  async release(): Promise<void> {
    if (this.state === "released") return;
    const held = this.state === "held";
    this.state = "released";
    this.halted = true;
    this.waiters.clear();
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client && held) {
      await timeout(client.query("DELETE FROM gantry.executors WHERE token = $1", [this.token]), 2000).catch(
        () => undefined,
      );
      await timeout(client.end(), 2000).catch(() => undefined);
    }
    destroy(client);
  }

  private attach(client: pg.Client): void {
    this.client = client;
    const gone = (e?: Error) => {
      if (this.client === client) this.disconnected(e);
    };
    client.on("error", gone);
    client.on("end", () => gone());
  }

  private schedule(delay = HEARTBEAT_MS): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.beat(), delay);
    // Heartbeats alone do not keep the process alive; a reconnection does (see retake).
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const client = this.client;
    if (this.state !== "held" || !client || this.beating) return;
    this.beating = true;
    const sent = performance.now();
    try {
      const r = await timeout(
        client.query<{ held: boolean }>(HEARTBEAT_SQL, [this.token, ...LOCK]),
        PROBE_TIMEOUT_MS,
      );
      if (this.client !== client || this.state !== "held") return;
      if (r.rowCount === 0) {
        // Our row is gone: another executor replaced this one.
        this.lose({ why: "taken", holder: await currentExecutor(client).catch(() => undefined) });
        return;
      }
      if (!r.rows[0]?.held) {
        this.disconnected(new Error("the executor lock is no longer held by this session"));
        return;
      }
      this.proof = sent;
      this.flush();
    } catch (e) {
      if (this.client === client) this.disconnected(e as Error);
    } finally {
      this.beating = false;
      if (this.state === "held" && this.client === client) this.schedule();
    }
  }

  private flush(): void {
    if (!this.owned) return;
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }

  private disconnected(error?: Error): void {
    if (this.state !== "held") return;
    this.state = "retaking";
    this.lastError = error?.message;
    this.downSince = performance.now();
    const old = this.client;
    this.client = undefined;
    destroy(old);
    clearTimeout(this.timer);
    void this.retake();
  }

  /** Reconnects and takes the lock back while our row stands, until lost or the retry budget runs out. */
  private async retake(): Promise<void> {
    let delay = 100;
    while (this.state === "retaking") {
      let client: pg.Client | undefined;
      try {
        client = await connect(this.url);
        const outcome = await timeout(this.retakeOn(client), PROBE_TIMEOUT_MS);
        if (this.state !== "retaking") {
          destroy(client);
          return;
        }
        if (outcome === "held") {
          this.state = "held";
          this.attach(client);
          this.proof = performance.now();
          this.flush();
          this.schedule();
          return;
        }
        destroy(client);
        if (outcome !== "busy") {
          this.lose({ why: "taken", holder: outcome.holder });
          return;
        }
      } catch (e) {
        destroy(client);
        this.lastError = (e as Error).message;
      }
      if (performance.now() - this.downSince > retryBudgetMs()) {
        this.lose({ why: "unreachable", error: this.lastError });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }

  private async retakeOn(client: pg.Client): Promise<"held" | "busy" | { holder: ExecutorInfo | undefined }> {
    const mine = await client.query<{ backend_pid: number | null }>(
      "SELECT backend_pid FROM gantry.executors WHERE token = $1",
      [this.token],
    );
    if (mine.rowCount === 0) return { holder: await currentExecutor(client) };
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
      ...LOCK,
    ]);
    if (!rows[0]?.ok) {
      // Held by our own old session, on a connection that broke on our side only? End it.
      const holder = await client.query<{ pid: number }>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted",
        [...LOCK],
      );
      const old = mine.rows[0]?.backend_pid;
      if (old && holder.rows[0]?.pid === old) {
        await client.query("SELECT pg_terminate_backend($1)", [old]).catch(() => undefined);
      }
      this.lastError = "the executor lock is held by another session";
      return "busy";
    }
    // With the lock held, our row is authoritative: only a lock holder replaces rows.
    const r = await client.query(
      "UPDATE gantry.executors SET heartbeat_at = now(), backend_pid = pg_backend_pid() WHERE token = $1",
      [this.token],
    );
    if (r.rowCount === 0) {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [...LOCK]).catch(() => undefined);
      return { holder: await currentExecutor(client) };
    }
    return "held";
  }

  private lose(why: LockLost): void {
    if (this.state === "lost" || this.state === "released") return;
    this.state = "lost";
    this.halted = true;
    this.waiters.clear();
    clearTimeout(this.timer);
    destroy(this.client);
    this.client = undefined;
    this.onLost?.(why);
    this.resolveLost(why);
  }
}

/** The live executor, if any: the lock's holder, or a recorded executor reconnecting to take it back. */
export async function currentExecutor(client: pg.Pool | pg.Client): Promise<ExecutorInfo | undefined> {
  const held = await client.query(
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted",
    [...LOCK],
  );
  if (held.rowCount === 0) return liveHolder(client);
  const { rows } = await client.query<Row>(
    "SELECT pid, host, verb, started_at, true AS fresh FROM gantry.executors ORDER BY started_at DESC LIMIT 1",
  );
  const row = rows[0];
  return row ? info(row) : { pid: 0, host: "?", verb: "?", startedAt: "" };
}

export function describeExecutor(e: ExecutorInfo | undefined): string {
  if (!e) return "another gantry process";
  const here = e.host === hostname() ? "" : ` on ${e.host}`;
  const since = e.startedAt ? `, since ${e.startedAt.slice(0, 19).replace("T", " ")} UTC` : "";
  return `gantry ${e.verb} (pid ${e.pid}${here}${since})`;
}
