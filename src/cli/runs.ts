/**
 * The verbs that act on runs: status, log, approve, rollback, abort, resume, worker. Each
 * parses its arguments, calls the application layer (src/app/runs.ts), and prints.
 */

import { asOption, identify } from "../app/identity.js";
import {
  abort as abortRun,
  acknowledge,
  answer,
  findRun,
  handoff,
  listRuns,
  markItem,
  nothingToResume,
  requestRollback,
  runLog,
} from "../app/runs.js";
import { scheduleOf } from "../app/schedule.js";
import { type Engine, startEngine } from "../engine/runtime.js";
import type { RunView } from "../engine/state.js";
import { ENGINE_VERSION } from "../engine/version.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import type { DatabaseOptions } from "../store/database.js";
import type { RunEvent } from "../store/events.js";
import { DELIVERY_WAIT_MS, followRun, guardExecutor, openForVerb, withControl } from "./executor.js";
import { OUTCOME_EXIT } from "./exit.js";
import { err, json, out } from "./output.js";
import { foldMonitor, plainLine, plainProgress, renderTree } from "./progress.js";
import { report } from "./report.js";
import { afterRun } from "./reports.js";

// ——— status and log ———

export async function status(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  await withControl(options, async (control) => {
    if (runId === undefined) {
      const views = await listRuns(control);
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
    const view = await findRun(control, runId);
    if (options.json) return json(view);
    out(renderTree(view, Date.now(), undefined, foldMonitor(await control.store.list(runId))));
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

/** Prints a run's events; with --follow, also those written from now on (by any process), until it finishes. */
export async function log(runId: string, options: DatabaseOptions & { json?: boolean; follow?: boolean }) {
  await withControl(options, async (control) => {
    const events = await runLog(control, runId);
    const print = (e: RunEvent) => {
      if (options.json && options.follow) out(JSON.stringify(e));
      else out(`${e.at}  ${plainLine(e) ?? `${e.kind}${e.step ? ` ${e.step}` : ""}`}`);
    };
    if (options.json && !options.follow) return json(events);
    for (const e of events) print(e);
    if (!options.follow || events.some((e) => e.kind === "run.finished")) return;
    await control.store.follow(runId, events.at(-1)?.seq ?? 0, (e) => {
      print(e);
      return e.kind === "run.finished";
    });
  });
}

// ——— control ———

export async function approve(
  runId: string,
  options: DatabaseOptions & {
    as?: string;
    reject?: boolean;
    reason?: string;
    comment?: string;
    role?: string;
    choice?: string;
  },
) {
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const a = await answer(control, runId, who, {
      ...(options.choice !== undefined ? { choice: options.choice } : {}),
      ...(options.reject ? { reject: true } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.role ? { role: options.role } : {}),
    });
    const as = `${a.by}${a.role ? ` for ${a.role}` : ""}${who.authenticated ? "" : " (not authenticated: this database has no identities)"}`;
    out(
      a.choice !== undefined
        ? `chose ${a.choice} for ${a.what} as ${as}`
        : a.rejected
          ? `rejected ${a.what} as ${as}`
          : `approved ${a.what} as ${as} (${a.count}/${a.needed})`,
    );
    if (a.interrupted) err(`The run is interrupted; it goes on with: gantry resume ${runId}`);
  });
}

export async function schedule(runId: string, options: DatabaseOptions & { json?: boolean }) {
  await withControl(options, async (control) => {
    const items = await scheduleOf(control, runId);
    if (options.json) return json(items);
    if (items.length === 0) return out(`run ${runId} has no schedule`);
    for (const i of items) {
      const when = i.due ? i.due.slice(0, 19).replace("T", " ") : "when the deploy is done";
      out(
        `${i.state.padEnd(9)} ${i.title.padEnd(44)} ${when}${i.owner ? `  owner ${i.owner}` : ""}${i.message ? `  — ${i.message}` : ""}`,
      );
    }
  });
}

export async function checklist(
  runId: string,
  name: string,
  options: DatabaseOptions & { as?: string; item: string; comment?: string },
) {
  const item = Number(options.item);
  if (!Number.isInteger(item) || item < 1)
    throw new UsageError(`--item ${options.item}: write the item's number, from 1`);
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const m = await markItem(control, runId, who, name, item, options.comment);
    out(`signed off item ${item} of ${m.what} as ${who.name} (${m.marked}/${m.of}): ${m.text}`);
    if (m.interrupted) err(`The run is interrupted; it goes on with: gantry resume ${runId}`);
  });
}

export async function handoffCommand(
  runId: string,
  options: DatabaseOptions & { as?: string; to: string; from?: string; note?: string },
) {
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const h = await handoff(control, runId, who, options.to, {
      ...(options.from ? { from: options.from } : {}),
      ...(options.note ? { note: options.note } : {}),
    });
    out(`incident command of ${runId} handed over from ${h.from} to ${h.to}; recorded in its log`);
  });
}

export async function ack(runId: string, options: DatabaseOptions & { as?: string }) {
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const a = await acknowledge(control, runId, who);
    out(`acknowledged ${a.what.replace(/^acknowledgement of /, "")} as ${a.by}`);
    if (a.interrupted) err(`The run is interrupted; it goes on with: gantry resume ${runId}`);
  });
}

export async function rollback(
  runId: string,
  options: DatabaseOptions & { reason: string; as?: string; json?: boolean },
) {
  const asked = await withControl(options, async (control) =>
    requestRollback(control, runId, await identify(control.db.pool, asOption(options)), options.reason),
  );
  if (asked.needed > 1) {
    const before = asked.asked.length > 0 ? `; recorded before you: ${asked.asked.join(", ")}` : "";
    out(
      `rollback of ${runId} asked; it starts once ${asked.needed} different members of ${asked.role} have asked${before} (gantry status ${runId})`,
    );
    if (asked.interrupted && asked.asked.length + 1 >= asked.needed) return resume(runId, options);
    return;
  }
  if (asked.interrupted) return resume(runId, options);
  out(
    `rollback of ${runId} requested; the run acts on it at its next step boundary (gantry status ${runId})`,
  );
}

export async function abort(runId: string, options: DatabaseOptions & { reason?: string; as?: string }) {
  await withControl(options, async (control) => {
    const r = await abortRun(
      control,
      runId,
      await identify(control.db.pool, asOption(options)),
      options.reason,
    );
    out(
      r.immediate
        ? `aborted ${runId}: ${r.reason}`
        : `abort of ${runId} requested; the run stops at its next step boundary`,
    );
  });
}

// ——— executors ———

/** `gantry resume` finds nothing it can run; said before any run is touched. */
class NothingToResume extends Error {}

export async function resume(runId: string | undefined, options: DatabaseOptions & { json?: boolean }) {
  let nothing: string | undefined;
  let undelivered: string[] = [];
  let engine: Engine;
  try {
    engine = await openForVerb(() =>
      startEngine({
        ...options,
        verb: "resume",
        beforeLaunch: async (store) => {
          nothing = await nothingToResume(store, runId);
          // A finished run's messages that were on their way when gantry stopped go out now.
          undelivered = (await store.undelivered()).filter((id) => runId === undefined || id === runId);
          if (nothing !== undefined && undelivered.length === 0) throw new NothingToResume(nothing);
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
    for (const run of engine.otherEngine) {
      if (runId !== undefined && run.id !== runId) continue;
      err(
        `gantry: run ${run.id} was started by an earlier Gantry (engine ${run.engine}; this is ${ENGINE_VERSION}), which executes its steps in another order: it is not resumed here. Finish it with the Gantry that started it, or end it with: gantry abort ${run.id}`,
      );
    }
    for (const id of engine.stranded) {
      if (runId !== undefined && id !== runId) continue;
      err(
        `gantry: run ${id} was recorded but never started (the process that created it stopped first); nothing was done. End it with: gantry abort ${id}`,
      );
    }
    const ids = runId === undefined ? recovered : recovered.filter((id) => id === runId);
    for (const id of undelivered.filter((u) => !ids.includes(u))) {
      const pending = await engine.deliveries(id, DELIVERY_WAIT_MS);
      out(
        pending.length === 0
          ? `run ${id}: its last messages are delivered (gantry log ${id})`
          : `run ${id}: messages to ${pending.join(", ")} are still being delivered`,
      );
    }
    if (ids.length === 0) {
      if (undelivered.length > 0) return;
      out(runId === undefined ? "no interrupted runs" : `run ${runId} has nothing to resume`);
      return;
    }
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
      await afterRun(engine, id, result.outcome);
      code = Math.max(code, OUTCOME_EXIT[result.outcome]);
    }
    throw new ExitError(code);
  } finally {
    await engine.close();
  }
}

export async function worker(options: DatabaseOptions & { routines?: string[] }) {
  // The routines it keeps are read, and refused when invalid, before it takes the database.
  const routines = options.routines?.length
    ? await import("./routines.js").then((m) => ({ m, watched: m.loadWatched(options.routines!) }))
    : undefined;
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
    if (e.kind === "run.finished") {
      out(`[${e.runId}] finished: ${String(e.data.outcome)}`);
      void afterRun(engine, e.runId, String(e.data.outcome));
    }
  });
  err(
    `gantry worker (pid ${process.pid}) on ${engine.db.where}: taking queued releases${recovered.length ? `; resumed ${recovered.join(", ")}` : ""}${routines ? `; keeping routines ${routines.watched.map((r) => r.spec.name).join(", ")}` : ""}. Ctrl-C stops it; runs stay resumable.`,
  );
  if (routines) await routines.m.keep(routines.watched);
  // Until a signal, or the loss of the executor lock: the guard stops the process.
  guardExecutor(
    engine,
    () => [...running],
    () => undefined,
    EXIT.ok,
  );
  await new Promise<never>(() => undefined);
}
