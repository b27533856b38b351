/**
 * Starting and stopping the engine in a gantry process. An executor (`release`, `resume`,
 * `worker`) holds the database's executor lock and launches DBOS, which recovers every run a
 * crashed executor left behind. Other verbs talk to runs through `DBOSClient` and the event
 * log only; they never launch DBOS.
 */
import { DBOS, DBOSClient } from "@dbos-inc/dbos-sdk";
import { type Database, type DatabaseOptions, openDatabase } from "../store/database.js";
import { EventStore } from "../store/events.js";
import { acquireExecutor, currentExecutor, type ExecutorInfo, type ExecutorLock } from "../store/executor.js";
import { foldRun, type RunView } from "./state.js";
import {
  type ControlMessage,
  ENGINE_VERSION,
  haltRuns,
  type RunInput,
  type RunResult,
  releaseWorkflow,
  setEngineEnvironment,
} from "./workflow.js";

export const QUEUE = "gantry-releases";
const WORKFLOW_NAME = "release";

let registered: ((input: RunInput) => Promise<RunResult>) | undefined;

function workflow(): (input: RunInput) => Promise<RunResult> {
  registered ??= DBOS.registerWorkflow(releaseWorkflow, { name: WORKFLOW_NAME });
  return registered;
}

export interface Engine {
  db: Database;
  store: EventStore;
  start(input: RunInput): Promise<{ result(): Promise<RunResult> }>;
  /** A run this executor is running (started or recovered). */
  handle(runId: string): { result(): Promise<RunResult> };
  /** Runs this executor resumed at launch (interrupted by a crash or Ctrl-C). */
  recovered(): Promise<string[]>;
  close(): Promise<void>;
}

export interface EngineOptions extends DatabaseOptions {
  verb: string;
  /** Take queued runs (`gantry worker`). */
  worker?: boolean;
  /** Runs with the lock held, before DBOS launches and recovers interrupted runs; may refuse by throwing. */
  beforeLaunch?: (store: EventStore, db: Database) => Promise<void>;
}

/** Opens the database, takes the executor lock (throws DatabaseInUse) and launches DBOS. */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  const db = await openDatabase(options);
  let lock: ExecutorLock | undefined;
  try {
    lock = await acquireExecutor(db.url, options.verb);
    const store = new EventStore(db.pool);
    await options.beforeLaunch?.(store, db);
    // Unfinished, started runs: DBOS.launch resumes each of them in this process.
    const interrupted: string[] = [];
    for (const id of await store.unfinished()) {
      const view = foldRun(await store.list(id), false);
      if (view && view.status !== "queued") interrupted.push(id);
    }
    setEngineEnvironment({ store, dataDir: db.dataDir });
    const wf = workflow();
    DBOS.setConfig({
      name: "gantry",
      systemDatabaseUrl: db.url,
      applicationVersion: ENGINE_VERSION,
      logLevel: process.env.GANTRY_DEBUG ? "info" : "error",
      listenQueues: options.worker ? [QUEUE] : ["gantry-none"],
    });
    await DBOS.launch();
    if (options.worker) await DBOS.registerQueue(QUEUE, { partitionConcurrency: 1 });
    const heldLock = lock;
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
      recovered: async () => interrupted,
      close: async () => {
        haltRuns();
        await DBOS.shutdown().catch(() => undefined);
        await heldLock.release();
        await db.close();
      },
    };
  } catch (e) {
    await lock?.release();
    await db.close();
    throw e;
  }
}

/** A connection for verbs that act on runs without executing them. */
export interface Control {
  db: Database;
  store: EventStore;
  executor(): Promise<ExecutorInfo | undefined>;
  view(runId: string): Promise<RunView | undefined>;
  send(runId: string, message: ControlMessage): Promise<void>;
  enqueue(input: RunInput): Promise<void>;
  cancel(runId: string): Promise<void>;
  close(): Promise<void>;
}

export async function openControl(options: DatabaseOptions = {}): Promise<Control> {
  const db = await openDatabase(options);
  const store = new EventStore(db.pool);
  let client: DBOSClient | undefined;
  const dbos = async () => {
    if (!client) {
      // A database no executor has used yet has no DBOS tables.
      await quietly(() => DBOS.migrate(db.url));
      client = await DBOSClient.create({ systemDatabaseUrl: db.url, logger: SILENT });
    }
    return client;
  };
  return {
    db,
    store,
    executor: () => currentExecutor(db.pool),
    view: async (runId) => foldRun(await store.list(runId), (await currentExecutor(db.pool)) !== undefined),
    send: async (runId, message) => {
      // Logged first: the run checks for unreceived messages at each step's end.
      await store.append(runId, { key: `sent:${message.id}`, kind: "control.sent", data: { ...message } });
      await (await dbos()).send(runId, message, "control", message.id);
    },
    enqueue: async (input) => {
      const c = await dbos();
      await c.registerQueue(QUEUE, { partitionConcurrency: 1 }).catch(() => undefined);
      await c.enqueue(
        {
          queueName: QUEUE,
          workflowName: WORKFLOW_NAME,
          workflowID: input.runId,
          queuePartitionKey: input.env,
          appVersion: ENGINE_VERSION,
        },
        input,
      );
    },
    cancel: async (runId) => (await dbos()).cancelWorkflow(runId),
    close: async () => {
      await client?.destroy().catch(() => undefined);
      await db.close();
    },
  };
}

const debug = (entry: unknown) => {
  if (process.env.GANTRY_DEBUG) process.stderr.write(`dbos: ${String(entry)}\n`);
};
/** DBOS's own chatter goes to stderr with GANTRY_DEBUG=1, nowhere otherwise: stdout carries results. */
const SILENT = { info: debug, debug, warn: debug, error: debug };

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn, debug: console.debug };
  console.log = console.info = console.warn = console.debug = debug;
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}
