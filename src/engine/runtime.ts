/**
 * Starting and stopping the engine in a gantry process. An executor (`release`, `resume`,
 * `worker`) holds the database's executor lock and launches DBOS, which recovers every run a
 * crashed executor left behind. Other verbs talk to runs through `DBOSClient` and the event
 * log only; they never launch DBOS.
 *
 * One executor per run: every database connection the engine's runs use (Gantry's event log
 * and DBOS's checkpoints, steps, timers and messages) goes through the executor lock's fence
 * (src/store/executor.ts). A process that is not the proven holder of the lock waits; one
 * that has lost it, or is stopping, never touches the database again for its runs.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { registerInternalQueue } from "@dbos-inc/dbos-sdk/internal/wfqueue";
import pg from "pg";
import { stopAllCommands } from "../exec/command.js";
import { openSealer } from "../secrets/seal.js";
import {
  bounded,
  type Database,
  type DatabaseOptions,
  endPool,
  executorRetryBudgetMs,
  onRetryExhausted,
  openDatabase,
  setRetryBudget,
} from "../store/database.js";
import { EventStore, type NewEvent } from "../store/events.js";
import { acquireExecutor, type ExecutorLock, type LockLost } from "../store/executor.js";
import { courierId, courierWorkflow } from "./courier.js";
import { routineWorkflow } from "./routine-loop.js";
import { foldRun } from "./state.js";
import type { RunInput, RunResult } from "./types.js";
import { ENGINE_VERSION, FIRST_ENGINE_VERSION, INTERNAL_QUEUE, QUEUE, WORKFLOW_NAME } from "./version.js";
import { haltRuns, releaseWorkflow, setEngineEnvironment } from "./workflow.js";

let registered: ((input: RunInput) => Promise<RunResult>) | undefined;

function workflow(): (input: RunInput) => Promise<RunResult> {
  registered ??= DBOS.registerWorkflow(releaseWorkflow, { name: WORKFLOW_NAME });
  courierWorkflow();
  routineWorkflow();
  return registered;
}

export type { LockLost };

export interface Engine {
  db: Database;
  store: EventStore;
  start(input: RunInput): Promise<{ result(): Promise<RunResult> }>;
  /** A run this executor is running (started or recovered). */
  handle(runId: string): { result(): Promise<RunResult> };
  /** Runs this executor resumed at launch (interrupted by a crash or Ctrl-C). */
  recovered(): Promise<string[]>;
  /** Runs the log calls interrupted that DBOS never started (the process died in between): nothing to resume. */
  stranded: string[];
  /** Unfinished runs an earlier engine version started: not resumed here (docs/engine.md, "Engine versions"). */
  otherEngine: Array<{ id: string; engine: string }>;
  /** Resolves when this process has lost the right to execute runs; it must stop at once. */
  lost: Promise<LockLost>;
  /** This process is stopping: no run may end here, and nothing more is written for them. */
  halt(): void;
  /**
   * Waits up to `ms` for a finished run's messages to be delivered (their couriers to end).
   * Resolves with the channels still delivering; those go on when an executor next runs.
   */
  deliveries(runId: string, ms: number): Promise<string[]>;
  /** Appends an event past the fence (after halting), giving up after `ms`. */
  note(runId: string, event: NewEvent, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export interface EngineOptions extends DatabaseOptions {
  verb: string;
  /** Take queued runs (`gantry worker`). */
  worker?: boolean;
  /** Runs with the lock held, before DBOS launches and recovers interrupted runs; may refuse by throwing. */
  beforeLaunch?: (store: EventStore, db: Database) => Promise<void>;
}

/** A pool whose every connection waits for the fence: nothing reaches the database unless this process is the executor. */
function fencedPool(url: string, lock: ExecutorLock, max: number, name: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 10_000,
    application_name: name,
    // What DBOS sets on its own pool; a custom pool is ours to configure.
    options: "-c idle_in_transaction_session_timeout=60000",
  });
  pool.on("error", () => undefined);
  const connect = pool.connect.bind(pool) as (cb?: (...args: unknown[]) => void) => unknown;
  // pg-pool's query() checks out through this.connect as well.
  (pool as unknown as { connect: unknown }).connect = (cb?: (...args: unknown[]) => void) => {
    if (!cb) return lock.fence().then(() => connect());
    lock.fence().then(
      () => connect(cb),
      (e) => cb(e),
    );
    return undefined;
  };
  return pool;
}

/** Opens the database, takes the executor lock (throws DatabaseInUse) and launches DBOS. */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  setRetryBudget(executorRetryBudgetMs());
  const db = await openDatabase(options);
  let lock: ExecutorLock | undefined;
  let unsubscribe: () => unknown = () => undefined;
  const pools: pg.Pool[] = [];
  try {
    // Losing the lock halts the runs at once, before any of their pending work can end them here.
    lock = await acquireExecutor(db.url, options.verb, { onLost: () => haltRuns() });
    const held = lock;
    unsubscribe = onRetryExhausted((e) => held.abandon({ why: "unreachable", error: (e as Error)?.message }));
    const storePool = fencedPool(db.url, held, 8, "gantry events");
    const dbosPool = fencedPool(db.url, held, 10, "gantry dbos");
    pools.push(storePool, dbosPool);
    const store = new EventStore(storePool);
    const plain = new EventStore(db.pool);
    await options.beforeLaunch?.(store, db);
    // Unfinished, started runs: DBOS.launch resumes each of them in this process.
    const interrupted: string[] = [];
    const otherEngine: Array<{ id: string; engine: string }> = [];
    for (const id of await store.unfinished()) {
      const events = await store.list(id);
      const view = foldRun(events, false);
      if (!view || view.status === "queued") continue;
      const engine = String(events[0]?.data.engine ?? FIRST_ENGINE_VERSION);
      if (engine === ENGINE_VERSION) interrupted.push(id);
      else otherEngine.push({ id, engine });
    }
    setEngineEnvironment({ store, dataDir: db.dataDir, pool: storePool, sealer: openSealer(db.dataDir) });
    const wf = workflow();
    DBOS.setConfig({
      name: "gantry",
      systemDatabaseUrl: db.url,
      systemDatabasePool: dbosPool,
      applicationVersion: ENGINE_VERSION,
      logLevel: process.env.GANTRY_DEBUG ? "info" : "error",
      listenQueues: options.worker ? [QUEUE] : ["gantry-none"],
    });
    // DBOS puts the runs it recovers on its internal queue, first polled a second after launch:
    // polled every 200 ms instead, a resumed run goes on at once (bench: restart → resumed).
    registerInternalQueue(INTERNAL_QUEUE, { minPollingIntervalMs: 200 });
    await DBOS.launch();
    if (options.worker) await DBOS.registerQueue(QUEUE, { partitionConcurrency: 1 });
    const recovered: string[] = [];
    const stranded: string[] = [];
    for (const id of interrupted) {
      const status = await DBOS.getWorkflowStatus(id);
      if (!status) {
        stranded.push(id);
        continue;
      }
      // Recovery puts a run a worker had taken back on the workers' queue, where only a worker
      // takes it: this executor is no worker, so it runs it here (DBOS's internal queue).
      if (!options.worker && status.status === "ENQUEUED" && status.queueName === QUEUE) {
        await DBOS.resumeWorkflow(id);
      }
      recovered.push(id);
    }
    const halt = () => {
      haltRuns();
      held.halt();
    };
    let closing: Promise<void> | undefined;
    return {
      db,
      store,
      start: async (input) => {
        const handle = await DBOS.startWorkflow(wf, { workflowID: input.runId })(input);
        return { result: () => handle.getResult() };
      },
      handle: (runId) => {
        const handle = DBOS.retrieveWorkflow<RunResult>(runId);
        return { result: () => handle.getResult() };
      },
      recovered: async () => recovered,
      stranded,
      otherEngine,
      lost: held.lost,
      halt,
      deliveries: async (runId, ms) => {
        const channels = new Set(
          (await store.list(runId))
            .filter((e) => e.kind === "notify.queued")
            .map((e) => String(e.data.channel)),
        );
        const deadline = Date.now() + ms;
        const pending: string[] = [];
        for (const channel of channels) {
          const handle = DBOS.retrieveWorkflow(courierId(runId, channel));
          const left = Math.max(0, deadline - Date.now());
          const done = await bounded(
            handle.getResult().then(() => true),
            left,
          ).catch(() => false);
          if (done !== true) pending.push(channel);
        }
        return pending;
      },
      note: async (runId, event, ms = 3000) => {
        await bounded(plain.append(runId, event), ms);
      },
      close: () => {
        closing ??= (async () => {
          // No run may end here. DBOS shuts down through an open fence (unless this process
          // was halted or lost its lock already): its queue loop and listeners end cleanly.
          haltRuns();
          unsubscribe();
          // Halted or lost, DBOS's loops wait on the closed fence: do not wait long for them.
          await bounded(DBOS.shutdown(), held.owned ? 5000 : 1000);
          halt();
          // Runs DBOS resumed here that nobody followed (`gantry resume RUN` resumes them all)
          // leave no command behind. The signal path has stopped them already.
          await bounded(stopAllCommands(), 10_000);
          await bounded(held.release(), 5000);
          await Promise.all(pools.map((p) => endPool(p, 2000)));
          await db.close();
          // The verb is over: whatever a shutdown cut short left open does not keep the
          // process alive (an unref'd timer fires only if something else still does).
          setTimeout(() => process.exit(), 3000).unref();
        })();
        return closing;
      },
    };
  } catch (e) {
    unsubscribe();
    await bounded(lock?.release(), 5000);
    await Promise.all(pools.map((p) => endPool(p, 2000)));
    await db.close();
    throw e;
  }
}
