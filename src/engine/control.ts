/**
 * A connection for verbs that act on runs without executing them (status, log, approve,
 * rollback, abort, release --detach): Gantry's event log, and DBOS's client for messages,
 * the queue and cancellation. It never launches DBOS.
 */
import { DBOS, DBOSClient } from "@dbos-inc/dbos-sdk";
import {
  bounded,
  type Database,
  type DatabaseOptions,
  openDatabase,
  setRetryBudget,
} from "../store/database.js";
import { EventStore } from "../store/events.js";
import { currentExecutor, type ExecutorInfo } from "../store/executor.js";
import { foldRun, type RunView } from "./state.js";
import type { ControlMessage, RunInput } from "./types.js";
import { ENGINE_VERSION, QUEUE, WORKFLOW_NAME } from "./version.js";

/** How long verbs that do not execute runs wait for the database before saying it is unreachable. */
export const CONTROL_WAIT_MS = 5000;

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

/**
 * Opens the database for a verb that does not execute runs. It never starts a second embedded
 * server beside one that is down under a running gantry, and waits only a few seconds for an
 * unreachable database (EmbeddedServerDown, or the connection error).
 */
export async function openControl(options: DatabaseOptions = {}): Promise<Control> {
  setRetryBudget(CONTROL_WAIT_MS);
  const db = await openDatabase(options, { serverWaitMs: CONTROL_WAIT_MS, connectTimeoutMs: 3000 });
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
      await bounded(client?.destroy(), 3000);
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
