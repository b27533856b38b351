/**
 * The verbs that act on runs: status, log, approve, rollback, abort, resume, worker, and the
 * parts `release` shares with them (following a run, Ctrl-C, a database in use).
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { type Control, type Engine, openControl, startEngine } from "../engine/runtime.js";
import { foldRun, type RunView } from "../engine/state.js";
import { type ControlMessage, haltRuns, type RunResult } from "../engine/workflow.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import type { DatabaseOptions } from "../store/database.js";
import { DataDirError } from "../store/embedded.js";
import type { EventStore, RunEvent } from "../store/events.js";
import { DatabaseInUse, describeExecutor } from "../store/executor.js";
import { err, json, out } from "./output.js";
import { plainLine, plainProgress, renderTree, startProgress } from "./progress.js";

export const EXIT_BUSY = 8;
export const EXIT_INTERRUPTED = 130;

/** Opens the engine or a control connection, turning the known failures into clear messages. */
export async function openForVerb<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    if (e instanceof DatabaseInUse) {
      err(
        `gantry: the database is in use by ${describeExecutor(e.holder)}, which is running releases. ` +
          "Wait for it to finish, queue this release with --detach (a `gantry worker` takes it), or use another --data-dir.",
      );
      throw new ExitError(EXIT_BUSY);
    }
    if (e instanceof DataDirError) {
      err(`gantry: ${e.message}`);
      throw new ExitError(EXIT.invalid);
    }
    const code = (e as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "28P01" || code === "3D000") {
      err(`gantry: cannot reach the database (${(e as Error).message}); check GANTRY_DATABASE_URL`);
      throw new ExitError(EXIT.invalid);
    }
    throw e;
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
 * it is (durable, resumable) and says how to go on.
 */
export async function followRun(
  engine: Engine,
  runId: string,
  start: () => Promise<{ result(): Promise<RunResult> }>,
  quiet: boolean | undefined,
): Promise<RunResult> {
  const initial = await engine.store.list(runId);
  let lastSeq = initial.at(-1)?.seq ?? 0;
  const progress = quiet
    ? plainProgress(process.stderr, initial)
    : await startProgress(process.stderr, initial);
  const unsubscribe = engine.store.subscribe((e) => {
    if (e.runId !== runId || e.seq <= lastSeq) return;
    lastSeq = e.seq;
    progress.push(e);
  });
  const onSignal = onInterrupt(engine, [runId], () => progress.stop());
  try {
    const handle = await start();
    return await handle.result();
  } finally {
    onSignal();
    unsubscribe();
    progress.stop();
  }
}

/** On SIGINT/SIGTERM: record the interruption, say how to continue, and leave. A second Ctrl-C leaves at once. */
function onInterrupt(engine: Engine, runIds: string[], stopView: () => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(EXIT_INTERRUPTED);
    stopping = true;
    haltRuns();
    stopView();
    void (async () => {
      for (const id of runIds) {
        await engine.store
          .append(id, {
            key: `interrupted:${Date.now()}`,
            kind: "run.interrupted",
            data: { signal, pid: process.pid },
          })
          .catch(() => undefined);
      }
      err(
        `\ngantry: interrupted. The run${runIds.length > 1 ? "s are" : " is"} saved where ${runIds.length > 1 ? "they" : "it"} stood:`,
      );
      for (const id of runIds) {
        err(`  gantry status ${id}      see where it is`);
        err(`  gantry resume ${id}      continue it`);
        err(`  gantry rollback ${id} --reason "…"   roll it back`);
        err(`  gantry abort ${id}       stop it for good`);
      }
      await engine.close().catch(() => undefined);
      process.exit(EXIT_INTERRUPTED);
    })();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

// ——— status and log ———

export async function status(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  const control = await openForVerb(() => openControl(options));
  try {
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
  } finally {
    await control.close();
  }
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
  const control = await openForVerb(() => openControl(options));
  try {
    await requireRun(control, runId);
    const events = await control.store.list(runId);
    if (options.json) return json(events);
    for (const e of events) out(`${e.at}  ${plainLine(e) ?? `${e.kind}${e.step ? ` ${e.step}` : ""}`}`);
  } finally {
    await control.close();
  }
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
  const control = await openForVerb(() => openControl(options));
  try {
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
  } finally {
    await control.close();
  }
}

export async function rollback(
  runId: string,
  options: DatabaseOptions & { reason: string; as?: string; json?: boolean },
) {
  const control = await openForVerb(() => openControl(options));
  let resumeAfter = false;
  try {
    const view = await requireRun(control, runId);
    notFinished(view, "rollback");
    await control.send(runId, {
      type: "rollback",
      by: operator(options.as),
      reason: options.reason,
      id: randomUUID(),
    });
    if (view.status === "interrupted") resumeAfter = true;
    else
      out(
        `rollback of ${runId} requested; the run acts on it at its next step boundary (gantry status ${runId})`,
      );
  } finally {
    await control.close();
  }
  if (resumeAfter) await resume(runId, options);
}

export async function abort(runId: string, options: DatabaseOptions & { reason?: string; as?: string }) {
  const control = await openForVerb(() => openControl(options));
  try {
    const view = await requireRun(control, runId);
    notFinished(view, "abort");
    const by = operator(options.as);
    if (view.status === "interrupted" || view.status === "queued") {
      await control.cancel(runId);
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
  } finally {
    await control.close();
  }
}

// ——— executors ———

export async function resume(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  const engine = await openForVerb(() => startEngine({ ...options, verb: "resume" }));
  try {
    const recovered = await engine.recovered();
    const ids = runId === undefined ? recovered : recovered.filter((id) => id === runId);
    if (ids.length === 0) {
      if (runId !== undefined) {
        const view = foldRun(await engine.store.list(runId), true);
        if (!view) throw new UsageError(`no run ${runId} (gantry status lists runs)`);
        out(`run ${runId} has nothing to resume: ${view.status}${view.reason ? ` — ${view.reason}` : ""}`);
      } else out("no interrupted runs");
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
      const result = await followRun(engine, id, async () => engine.handle(id), options.json);
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
  engine.store.subscribe((e: RunEvent) => {
    if (e.kind === "output") return;
    progress.push(e);
    if (e.kind === "run.finished") out(`[${e.runId}] finished: ${String(e.data.outcome)}`);
  });
  const recovered = await engine.recovered();
  err(
    `gantry worker (pid ${process.pid}) on ${engine.db.where}: taking queued releases${recovered.length ? `; resumed ${recovered.join(", ")}` : ""}. Ctrl-C stops it; runs stay resumable.`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      haltRuns();
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  const running: string[] = [];
  for (const id of await engine.store.unfinished()) {
    const view = foldRun(await engine.store.list(id), true);
    if (view && view.status !== "queued") running.push(id);
  }
  for (const id of running) {
    await engine.store
      .append(id, {
        key: `interrupted:${Date.now()}`,
        kind: "run.interrupted",
        data: { signal: "worker stopped", pid: process.pid },
      })
      .catch(() => undefined);
  }
  await engine.close();
  process.exit(running.length > 0 ? EXIT_INTERRUPTED : EXIT.ok);
}
