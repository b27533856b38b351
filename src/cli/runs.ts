/**
 * The verbs that act on runs: status, log, approve, rollback, abort, resume, worker, and the
 * parts `release` shares with them (following a run, Ctrl-C, a database in use or away).
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { type Control, type Engine, openControl, startEngine } from "../engine/runtime.js";
import { foldRun, type RunView } from "../engine/state.js";
import { type ControlMessage, haltRuns, type RunResult } from "../engine/workflow.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { type StoppedCommand, stopAllCommands } from "../exec/command.js";
import { bounded, type DatabaseOptions, executorRetryBudgetMs, isTransient } from "../store/database.js";
import { DataDirError, EmbeddedServerDown } from "../store/embedded.js";
import type { EventStore, RunEvent } from "../store/events.js";
import { DatabaseInUse, describeExecutor, type LockLost } from "../store/executor.js";
import { err, json, out } from "./output.js";
import { plainLine, plainProgress, renderTree, startProgress } from "./progress.js";

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
    if (e instanceof DataDirError) {
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

/** Runs a verb's body on a control connection; a database that goes away meanwhile is a clear message, not a crash. */
async function withControl<T>(options: DatabaseOptions, body: (control: Control) => Promise<T>): Promise<T> {
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

/** Refuses to start a new run while an earlier one is unfinished and nobody runs it. */
export async function refuseInterrupted(store: EventStore): Promise<void> {
  for (const id of await store.unfinished()) {
    const view = foldRun(await store.list(id), false);
    if (view?.status !== "interrupted") continue;
    err(
      `gantry: run ${id} (${view.service} ${view.version} → ${view.environment}) was interrupted at ${view.current?.id ?? "its start"} and is not finished.`,
    );
    err(
      `Finish it first: gantry resume ${id}   or   gantry rollback ${id} --reason …   or   gantry abort ${id}`,
    );
    throw new ExitError(EXIT_BUSY);
  }
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
    return await handle.result();
  } finally {
    dispose();
    unsubscribe();
    progress?.stop();
  }
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

function stopEvent(cause: StopCause, stopped: StoppedCommand[]) {
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

// ——— status and log ———

export async function status(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  await withControl(options, async (control) => {
    if (runId === undefined) {
      const ids = await control.store.runs({ limit: 20 });
      const alive = (await control.executor()) !== undefined;
      const views = [];
      for (const id of ids) {
        const v = foldRun(await control.store.list(id), alive);
        if (v) views.push(v);
      }
      if (options.json) return json(views.map(summary));
      if (views.length === 0)
        return out("no runs yet; start one with: gantry release FILE --env NAME --ref REF");
      for (const v of views) {
        out(
          `${v.id.padEnd(40)} ${v.status.padEnd(12)} ${v.createdAt.slice(0, 19).replace("T", " ")}  ${v.current && !v.outcome ? `at ${v.current.id}` : (v.reason ?? "")}`,
        );
      }
      return;
    }
    const view = await requireRun(control, runId);
    if (options.json) return json(view);
    out(renderTree(view, Date.now()));
    if (view.status === "interrupted") {
      out("");
      out(`Interrupted at ${view.current?.id ?? "its start"}: no gantry process is running it.`);
      out(`  continue:  gantry resume ${view.id}`);
      out(`  roll back: gantry rollback ${view.id} --reason "…"`);
      out(`  stop:      gantry abort ${view.id}`);
    } else if (view.status === "queued") {
      out("\nQueued: a `gantry worker` will run it.");
    }
  });
}

function summary(v: RunView) {
  return {
    run: v.id,
    status: v.status,
    outcome: v.outcome ?? null,
    service: v.service,
    environment: v.environment,
    version: v.version,
    previousVersion: v.previousVersion ?? null,
    createdAt: v.createdAt,
    reason: v.reason ?? null,
    current: v.current?.id ?? null,
  };
}

export async function log(runId: string, options: DatabaseOptions & { json?: boolean }) {
  await withControl(options, async (control) => {
    await requireRun(control, runId);
    const events = await control.store.list(runId);
    if (options.json) return json(events);
    for (const e of events) out(`${e.at}  ${plainLine(e) ?? `${e.kind}${e.step ? ` ${e.step}` : ""}`}`);
  });
}

async function requireRun(control: Control, runId: string): Promise<RunView> {
  const view = await control.view(runId);
  if (!view) {
    const recent = await control.store.runs({ limit: 5 });
    throw new UsageError(
      `no run ${runId}${recent.length ? `; recent runs: ${recent.join(", ")}` : "; no runs yet"} (gantry status lists them)`,
    );
  }
  return view;
}

// ——— control ———

function operator(as: string | undefined): string {
  return as ?? process.env.GANTRY_USER ?? process.env.USER ?? userInfo().username;
}

function notFinished(view: RunView, verb: string): void {
  if (!view.outcome) return;
  err(`gantry: run ${view.id} has already finished: ${view.outcome} — ${view.reason ?? ""}`);
  if (verb === "rollback" && view.outcome === "released" && view.previousVersion) {
    err(
      `To go back to ${view.previousVersion}, release it: gantry release ${view.file} --env ${view.environment} --ref <the ref of ${view.previousVersion}>`,
    );
  }
  throw new ExitError(EXIT.invalid);
}

export async function approve(
  runId: string,
  options: DatabaseOptions & { as?: string; reject?: boolean; reason?: string },
) {
  await withControl(options, async (control) => {
    const view = await requireRun(control, runId);
    notFinished(view, "approve");
    if (!view.waiting) {
      err(
        `gantry: run ${runId} is not waiting for an approval; it is at ${view.current?.id ?? "its start"}.`,
      );
      throw new ExitError(EXIT.invalid);
    }
    const by = operator(options.as);
    if (!options.reject && view.waiting.approvals.includes(by)) {
      err(
        `gantry: ${by} has already approved ${view.waiting.what}; it needs ${view.waiting.needed} different people.`,
      );
      throw new ExitError(EXIT.invalid);
    }
    const message: ControlMessage = options.reject
      ? {
          type: "reject",
          by,
          step: view.waiting.step,
          id: randomUUID(),
          ...(options.reason ? { reason: options.reason } : {}),
        }
      : { type: "approve", by, step: view.waiting.step, id: randomUUID() };
    await control.send(runId, message);
    out(
      options.reject
        ? `rejected ${view.waiting.what} as ${by}`
        : `approved ${view.waiting.what} as ${by} (${view.waiting.approvals.length + 1}/${view.waiting.needed})`,
    );
    if (view.status === "interrupted") err(`The run is interrupted; it goes on with: gantry resume ${runId}`);
  });
}

export async function rollback(
  runId: string,
  options: DatabaseOptions & { reason: string; as?: string; json?: boolean },
) {
  const resumeAfter = await withControl(options, async (control) => {
    const view = await requireRun(control, runId);
    notFinished(view, "rollback");
    await control.send(runId, {
      type: "rollback",
      by: operator(options.as),
      reason: options.reason,
      id: randomUUID(),
    });
    if (view.status === "interrupted") return true;
    out(
      `rollback of ${runId} requested; the run acts on it at its next step boundary (gantry status ${runId})`,
    );
    return false;
  });
  if (resumeAfter) await resume(runId, options);
}

export async function abort(runId: string, options: DatabaseOptions & { reason?: string; as?: string }) {
  await withControl(options, async (control) => {
    const view = await requireRun(control, runId);
    notFinished(view, "abort");
    const by = operator(options.as);
    if (view.status === "interrupted" || view.status === "queued") {
      // A run whose process died before DBOS started it has no workflow to cancel.
      await control.cancel(runId).catch((e: Error) => {
        if (!/does not exist|not found/i.test(e.message)) throw e;
      });
      const deployed = view.steps.some((s) => s.kind === "deploy" && s.status !== "pending");
      const reason = `aborted by ${by}${options.reason ? `: ${options.reason}` : ""} while ${view.status}${deployed ? `; ${view.version} may still be serving (roll back with a release of the previous version)` : "; nothing was deployed"}`;
      await control.store.append(runId, {
        key: "finished",
        kind: "run.finished",
        data: {
          run: runId,
          outcome: "aborted",
          reason,
          version: view.version,
          previousVersion: view.previousVersion ?? null,
        },
      });
      out(`aborted ${runId}: ${reason}`);
      return;
    }
    await control.send(runId, {
      type: "abort",
      by,
      id: randomUUID(),
      ...(options.reason ? { reason: options.reason } : {}),
    });
    out(`abort of ${runId} requested; the run stops at its next step boundary`);
  });
}

// ——— executors ———

/** `gantry resume` finds nothing it can run; said before any run is touched. */
class NothingToResume extends Error {}

/** Why `gantry resume [RUN]` has nothing to run here, or undefined when it has. */
async function nothingToResume(store: EventStore, runId: string | undefined): Promise<string | undefined> {
  const queuedNote = (ids: string[]) =>
    `${ids.length === 1 ? `run ${ids[0]} is` : `runs ${ids.join(", ")} are`} queued, not interrupted: ${ids.length === 1 ? "it has" : "they have"} not started, and \`gantry worker\` runs queued releases (one per environment at a time). Start one with: gantry worker`;
  if (runId !== undefined) {
    const view = foldRun(await store.list(runId), false);
    if (!view) throw new UsageError(`no run ${runId} (gantry status lists runs)`);
    if (view.status === "queued") return queuedNote([runId]);
    if (view.outcome) {
      return `run ${runId} has nothing to resume: ${view.status}${view.reason ? ` — ${view.reason}` : ""}`;
    }
    return undefined;
  }
  const queued: string[] = [];
  for (const id of await store.unfinished()) {
    const view = foldRun(await store.list(id), false);
    if (!view) continue;
    if (view.status !== "queued") return undefined;
    queued.push(id);
  }
  return queued.length > 0 ? `no interrupted runs; ${queuedNote(queued)}` : "no interrupted runs";
}

export async function resume(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  let nothing: string | undefined;
  let engine: Engine;
  try {
    engine = await openForVerb(() =>
      startEngine({
        ...options,
        verb: "resume",
        beforeLaunch: async (store) => {
          nothing = await nothingToResume(store, runId);
          if (nothing !== undefined) throw new NothingToResume(nothing);
        },
      }),
    );
  } catch (e) {
    if (!(e instanceof NothingToResume)) throw e;
    out(e.message);
    return;
  }
  try {
    const recovered = await engine.recovered();
    for (const id of engine.stranded) {
      if (runId !== undefined && id !== runId) continue;
      err(
        `gantry: run ${id} was recorded but never started (the process that created it stopped first); nothing was done. End it with: gantry abort ${id}`,
      );
    }
    const ids = runId === undefined ? recovered : recovered.filter((id) => id === runId);
    if (ids.length === 0) {
      out(runId === undefined ? "no interrupted runs" : `run ${runId} has nothing to resume`);
      return;
    }
    const { OUTCOME_EXIT, report } = await import("./release.js");
    let code: number = EXIT.ok;
    for (const id of ids) {
      await engine.store.append(id, {
        key: `resumed:${Date.now()}`,
        kind: "run.resumed",
        data: { pid: process.pid },
      });
    }
    for (const id of ids) {
      const result = await followRun(engine, id, async () => engine.handle(id), options.json, ids);
      report(result, options.json);
      code = Math.max(code, OUTCOME_EXIT[result.outcome]);
    }
    throw new ExitError(code);
  } finally {
    await engine.close();
  }
}

export async function worker(options: DatabaseOptions) {
  const engine = await openForVerb(() => startEngine({ ...options, verb: "worker", worker: true }));
  const progress = plainProgress({
    write: (line: string) => process.stdout.write(line),
  } as NodeJS.WritableStream);
  const recovered = await engine.recovered();
  // The runs this worker is executing, for the record when it stops.
  const running = new Set<string>(recovered);
  const finished = new Set<string>();
  engine.store.subscribe((e: RunEvent) => {
    if (e.kind === "run.finished") {
      finished.add(e.runId);
      running.delete(e.runId);
    } else if (!finished.has(e.runId)) running.add(e.runId);
    if (e.kind === "output") return;
    progress.push(e);
    if (e.kind === "run.finished") out(`[${e.runId}] finished: ${String(e.data.outcome)}`);
  });
  err(
    `gantry worker (pid ${process.pid}) on ${engine.db.where}: taking queued releases${recovered.length ? `; resumed ${recovered.join(", ")}` : ""}. Ctrl-C stops it; runs stay resumable.`,
  );
  // Until a signal, or the loss of the executor lock: the guard stops the process.
  guardExecutor(
    engine,
    () => [...running],
    () => undefined,
    EXIT.ok,
  );
  await new Promise<never>(() => undefined);
}
