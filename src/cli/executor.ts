/**
 * What every executing verb (`release`, `resume`, `worker`) shares: opening the engine with
 * clear messages for the known failures, following a run's progress, and stopping cleanly on
 * Ctrl-C, SIGTERM or the loss of the right to execute (the run stays resumable).
 */
import { type Control, openControl } from "../engine/control.js";
import type { Engine, LockLost } from "../engine/runtime.js";
import type { RunResult } from "../engine/types.js";
import { haltRuns } from "../engine/workflow.js";
import { EXIT, ExitError } from "../errors.js";
import { type StoppedCommand, stopAllCommands } from "../exec/command.js";
import { SealError } from "../secrets/seal.js";
import { bounded, type DatabaseOptions, executorRetryBudgetMs, isTransient } from "../store/database.js";
import { DataDirError, EmbeddedServerDown } from "../store/embedded.js";
import type { NewEvent, RunEvent } from "../store/events.js";
import { DatabaseInUse, describeExecutor } from "../store/executor.js";
import { err } from "./output.js";
import { plainProgress, startProgress } from "./progress.js";

export const EXIT_BUSY = 8;
export const EXIT_INTERRUPTED = 130;
/** However the database behaves, a stopping executor has exited this long after it was told to stop. */
const STOP_LIMIT_MS = 20_000;
/** How long stopping the commands this process started may take. */
const COMMANDS_LIMIT_MS = 10_000;

/** Opens the engine or a control connection, turning the known failures into clear messages. */
export async function openForVerb<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    if (e instanceof DatabaseInUse) {
      err(
        `gantry: the database is in use by ${describeExecutor(e.holder)}, which is running releases. ` +
          (e.holder?.reconnecting
            ? "It lost its database connection a moment ago and is taking its executor lock back. "
            : "") +
          "Wait for it to finish, queue this release with --detach (a `gantry worker` takes it), or use another --data-dir.",
      );
      throw new ExitError(EXIT_BUSY);
    }
    if (e instanceof EmbeddedServerDown) {
      serverDown(e);
      throw new ExitError(EXIT.invalid);
    }
    // A data folder Postgres cannot reach, a secret key that is unreadable or malformed.
    if (e instanceof DataDirError || e instanceof SealError) {
      err(`gantry: ${e.message}`);
      throw new ExitError(EXIT.invalid);
    }
    const code = (e as { code?: string }).code;
    if (isTransient(e) || code === "ENOTFOUND" || code === "28P01" || code === "3D000") {
      err(
        `gantry: cannot reach the database (${(e as Error).message}); ${process.env.GANTRY_DATABASE_URL ? "check GANTRY_DATABASE_URL" : "try again in a moment"}`,
      );
      throw new ExitError(EXIT.invalid);
    }
    throw e;
  }
}

function serverDown(e: EmbeddedServerDown): void {
  const users = e.users.map((u) => `gantry ${u.command.split(" ")[0] || "?"} (pid ${u.pid})`).join(", ");
  const pids = e.users.map((u) => u.pid).join(" ");
  err(
    `gantry: the database is unreachable: the embedded Postgres in ${e.dataDir} is not running, but ${users} ${e.users.length > 1 ? "use" : "uses"} it (it was stopped, or it crashed).`,
  );
  err(
    `Waited ${Math.round(e.waitedMs / 1000)}s for it to come back. No second server was started: the running gantry would not find it.`,
  );
  err("  If it is being restarted, run this again in a moment.");
  err(
    `  Otherwise a release gives up within ${Math.round(executorRetryBudgetMs() / 1000)}s, leaving its run resumable (sooner: kill ${pids});`,
  );
  err("  then `gantry resume` starts the server again and continues the run.");
}

/**
 * Shows a run's progress until it ends and returns its result. Ctrl-C leaves the run where
 * it is (durable, resumable) and says how to go on; so does losing the database for good.
 * `runIds`: every run this process is executing (for the record when it stops).
 */
export async function followRun(
  engine: Engine,
  runId: string,
  start: () => Promise<{ result(): Promise<RunResult> }>,
  quiet: boolean | undefined,
  runIds: string[] = [runId],
): Promise<RunResult> {
  let progress: { push(e: RunEvent): void; stop(): void } | undefined;
  const dispose = guardExecutor(
    engine,
    () => runIds,
    () => progress?.stop(),
  );
  let unsubscribe: () => unknown = () => undefined;
  try {
    const initial = await engine.store.list(runId);
    let lastSeq = initial.at(-1)?.seq ?? 0;
    const view = quiet
      ? plainProgress(process.stderr, initial)
      : await startProgress(process.stderr, initial);
    progress = view;
    unsubscribe = engine.store.subscribe((e) => {
      if (e.runId !== runId || e.seq <= lastSeq) return;
      lastSeq = e.seq;
      view.push(e);
    });
    const handle = await start();
    const result = await handle.result();
    await deliveries(engine, runId);
    return result;
  } finally {
    dispose();
    unsubscribe();
    progress?.stop();
  }
}

/** How long a finished run waits in the foreground for its last messages to go out. */
export const DELIVERY_WAIT_MS = 90_000;

/** Waits for a finished run's messages; says which are still being delivered when it gives up. */
async function deliveries(engine: Engine, runId: string): Promise<void> {
  const pending = await engine.deliveries(runId, DELIVERY_WAIT_MS);
  if (pending.length === 0) return;
  err(
    `gantry: messages to ${pending.join(", ")} are still being delivered; they go out when an executor next runs (gantry worker, resume or release)`,
  );
}

type StopCause = { kind: "signal"; signal: NodeJS.Signals } | { kind: "lost"; lost: LockLost };

/**
 * Watches an executor until disposed. SIGINT/SIGTERM, or the loss of the right to execute
 * (another executor took over, or the database stayed away past the retry budget), stop it:
 * no run may end here (haltRuns), the commands it started are stopped, each run gets an event
 * saying why, and the process exits — within STOP_LIMIT_MS, whatever state the database
 * connection is in. A second signal exits at once.
 */
export function guardExecutor(
  engine: Engine,
  runIds: () => string[],
  stopView: () => void,
  idleCode: number = EXIT_INTERRUPTED,
): () => void {
  let active = true;
  let stopping = false;
  const stop = (cause: StopCause) => {
    if (stopping) {
      if (cause.kind === "signal") process.exit(EXIT_INTERRUPTED);
      return;
    }
    stopping = true;
    haltRuns();
    engine.halt();
    stopView();
    const ids = runIds();
    const code =
      cause.kind === "lost" && cause.lost.why === "taken"
        ? EXIT_BUSY
        : ids.length === 0 && cause.kind === "signal"
          ? idleCode
          : EXIT_INTERRUPTED;
    setTimeout(() => {
      err(`gantry: could not stop cleanly within ${STOP_LIMIT_MS / 1000}s; exiting now`);
      process.exit(code);
    }, STOP_LIMIT_MS);
    say(engine, cause, ids);
    void (async () => {
      const stopped = (await bounded(stopAllCommands(), COMMANDS_LIMIT_MS, [] as StoppedCommand[])) ?? [];
      await Promise.all(ids.map((id) => engine.note(id, stopEvent(cause, stopped))));
      await bounded(engine.close(), 8000);
      process.exit(code);
    })();
  };
  const onSignal = (signal: NodeJS.Signals) => stop({ kind: "signal", signal });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  void engine.lost.then((lost) => {
    if (active) stop({ kind: "lost", lost });
  });
  return () => {
    active = false;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

function stopEvent(cause: StopCause, stopped: StoppedCommand[]): NewEvent {
  const key = `${cause.kind === "lost" && cause.lost.why === "taken" ? "lost" : "interrupted"}:${process.pid}:${Date.now()}`;
  if (cause.kind === "signal") {
    return { key, kind: "run.interrupted", data: { signal: cause.signal, pid: process.pid, stopped } };
  }
  if (cause.lost.why === "unreachable") {
    return {
      key,
      kind: "run.interrupted",
      data: { signal: "database unreachable", error: cause.lost.error ?? null, pid: process.pid, stopped },
    };
  }
  const h = cause.lost.holder;
  return {
    key,
    kind: "executor.lost",
    data: { pid: process.pid, holder: h ? { pid: h.pid, host: h.host, verb: h.verb } : null, stopped },
  };
}

function say(engine: Engine, cause: StopCause, ids: string[]): void {
  const runs = ids.length === 0 ? "" : ids.length > 1 ? `runs ${ids.join(", ")}` : `run ${ids[0]}`;
  if (cause.kind === "lost" && cause.lost.why === "taken") {
    const holder = cause.lost.holder;
    err(
      `\ngantry: this process (pid ${process.pid}) is no longer the executor${runs ? ` of ${runs}` : ""}: ${holder ? `${describeExecutor(holder)} holds the database's executor lock now` : "another gantry process replaced it"}.`,
    );
    err(
      `It stops acting at once and records no outcome here; the other process runs ${ids.length > 1 ? "them" : "it"}.`,
    );
    for (const id of ids) err(`  gantry status ${id}      see where it is`);
    return;
  }
  if (cause.kind === "lost") {
    err(
      `\ngantry: the database (${engine.db.where}) has been unreachable for over ${Math.round(executorRetryBudgetMs() / 1000)}s${cause.lost.error ? ` (${cause.lost.error})` : ""}; this process stops.`,
    );
    if (ids.length === 0) return;
    err(
      `The run${ids.length > 1 ? "s are" : " is"} saved where ${ids.length > 1 ? "they" : "it"} stood; once the database is back:`,
    );
  } else {
    if (ids.length === 0) return;
    err(
      `\ngantry: interrupted. The run${ids.length > 1 ? "s are" : " is"} saved where ${ids.length > 1 ? "they" : "it"} stood:`,
    );
  }
  for (const id of ids) {
    err(`  gantry status ${id}      see where it is`);
    err(`  gantry resume ${id}      continue it`);
    err(`  gantry rollback ${id} --reason "…"   roll it back`);
    err(`  gantry abort ${id}       stop it for good`);
  }
}

/** Runs a verb's body on a control connection; a database that goes away meanwhile is a clear message, not a crash. */
export async function withControl<T>(
  options: DatabaseOptions,
  body: (control: Control) => Promise<T>,
): Promise<T> {
  const control = await openForVerb(() => openControl(options));
  try {
    return await body(control);
  } catch (e) {
    if (isTransient(e)) {
      err(
        `gantry: the database (${control.db.where}) stopped answering: ${(e as Error).message}; try again in a moment`,
      );
      throw new ExitError(EXIT.invalid);
    }
    throw e;
  } finally {
    await control.close();
  }
}
