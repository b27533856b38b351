/**
 * `gantry routines FILE [--history [--routine NAME]] [--json]`: a runbook's routines with
 * their next times, or what their recorded runs found.
 * `gantry routines run FILE NAME [--at TIME] [--json]`: runs one now, records it, alerts when it
 * fails. Exits 0 when every check passed, 4 when one failed, 9 when one could not be measured,
 * 1 when an alert could not be delivered.
 * `gantry worker --routines FILE…` runs them on their schedules (loadWatched).
 */
import fs from "node:fs";
import path from "node:path";
import { type HistoryEntry, listRoutines, routineHistory, runRoutineNow } from "../app/routines.js";
import type { CheckResult } from "../checks/run.js";
import type { RoutineOutcome } from "../engine/routine.js";
import type { WatchedRoutine } from "../engine/routine-loop.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import type { Measurement } from "../probes/types.js";
import { loadRunbook, loadRunbookText } from "../runbook/load.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import type { DatabaseOptions } from "../store/database.js";
import type { RecordedCheck } from "../store/routines.js";
import { err, json, out, printDiagnostics } from "./output.js";

function load(file: string): { runbook: Runbook; source: string } {
  const loaded = loadRunbook(file);
  if (loaded.runbook) {
    // The text the occurrence records, checked again as read (the file may have changed since).
    const source = fs.readFileSync(file, "utf8");
    const again = loadRunbookText(source, file);
    if (again.runbook) return { runbook: again.runbook, source };
  }
  printDiagnostics(err, loaded);
  err(`${file}: invalid; fix the errors above (gantry validate ${file})`);
  throw new ExitError(EXIT.invalid);
}

export interface RoutinesOptions extends DatabaseOptions {
  history?: boolean;
  routine?: string;
  limit?: string;
  json?: boolean;
}

export async function routines(file: string, options: RoutinesOptions): Promise<void> {
  const { runbook } = load(file);
  if (options.routine && !options.history) throw new UsageError("--routine goes with --history");
  if (options.history) return history(runbook, options);
  const views = listRoutines(runbook, new Date());
  if (options.json) return json(views);
  if (views.length === 0) {
    out(`${file} declares no routines; add some under routines (docs/probes.md, "Routines")`);
    return;
  }
  for (const v of views) {
    out(`${v.name}  ${v.env}: ${v.checks.join(", ")}  (${v.cron}, ${v.timezone})`);
    if (v.description) out(`  ${v.description}`);
    out(`  next: ${v.next.map((t) => local(t, v.timezone)).join(", ")}`);
    out(
      `  alert: ${v.alert ? `${v.alert.to.join(", ")}${v.alert.template ? ` with ${v.alert.template}` : ""}${v.alert.onRecovery ? ", and on recovery" : ""}` : "none (results are recorded only)"}`,
    );
  }
}

async function history(runbook: Runbook, options: RoutinesOptions): Promise<void> {
  const limit = options.limit === undefined ? 20 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError("--limit: a whole number of runs, 1 or more");
  const runs = await withStores(options, (s) => routineHistory(runbook, s.routines, options.routine, limit));
  if (options.json) return json(runs);
  if (runs.length === 0) {
    out(
      "no recorded runs yet (gantry worker --routines FILE runs them; gantry routines run FILE NAME runs one now)",
    );
    return;
  }
  for (const r of runs) out(historyLine(r));
}

function historyLine(r: HistoryEntry): string {
  const ok = r.results.filter((c) => c.phase === "successful").length;
  const failed = r.results.filter((c) => c.phase !== "successful");
  const lines = [
    `${r.occurrence}  ${r.routine}  ${r.passed ? "passed" : "FAILED"}  ${ok}/${r.results.length} checks  (${r.trigger}, ran ${r.startedAt})`,
    ...failed.map((c) => `    ${c.name}: ${c.message}`),
    ...r.alerts.map((a) => `    ${a.kind} alert → ${a.channel}: ${a.detail}`),
  ];
  return lines.join("\n");
}

export interface RunOptions extends DatabaseOptions {
  at?: string;
  json?: boolean;
}

export async function run(file: string, name: string, options: RunOptions): Promise<void> {
  const { runbook, source } = load(file);
  let at: Date | undefined;
  if (options.at !== undefined) {
    at = new Date(options.at);
    if (Number.isNaN(at.getTime()))
      throw new UsageError(`--at: not a time: ${options.at}; write ISO 8601, e.g. 2026-10-07T09:00:00-04:00`);
  }
  const outcome = await withStores(options, (stores) =>
    runRoutineNow({ runbook, source, file, name, ...(at ? { at } : {}) }, stores),
  );
  // `gantry check`'s table and exit codes; loaded here, listing routines needs neither.
  const { EXIT_CHECK_ERROR, EXIT_CHECK_FAILED, table } = await import("./check.js");
  if (options.json) json(outcome);
  else out(describe(runbook, outcome, table));
  const phases = outcome.run.results.map((r) => r.phase);
  if (phases.includes("failed")) throw new ExitError(EXIT_CHECK_FAILED);
  if (phases.some((p) => p !== "successful")) throw new ExitError(EXIT_CHECK_ERROR);
  if (outcome.alerts.some((a) => !a.ok)) throw new ExitError(EXIT.invalid);
}

function describe(
  runbook: Runbook,
  o: RoutineOutcome,
  table: (runbook: Runbook, env: string, results: CheckResult[]) => string,
): string {
  const head = `routine ${o.run.routine}, occurrence ${o.run.occurrence}: ${o.run.passed ? "passed" : "failed"}${o.repeated ? ` (recorded by an earlier run at ${o.run.startedAt}; not run again)` : ""}`;
  const alerts = o.alerts.map(
    (a) =>
      `${a.kind} alert → ${a.channel}: ${a.ok ? (a.sent ? a.detail : "sent before, not again") : `NOT DELIVERED: ${a.detail}`}`,
  );
  return [
    head,
    "",
    table(runbook, o.run.environment, o.run.results.map(asResult)),
    ...(alerts.length ? ["", ...alerts] : []),
  ].join("\n");
}

function asResult(c: RecordedCheck): CheckResult {
  const measurement: Measurement = {
    phase: c.phase as Measurement["phase"],
    value: c.value as Measurement["value"],
    message: c.message,
    startedAt: "",
    finishedAt: "",
  };
  return { name: c.name, type: c.type, threshold: c.threshold, measurement };
}

async function withStores<T>(
  options: DatabaseOptions,
  body: (stores: {
    routines: import("../store/routines.js").RoutineStore;
    structures: import("../store/events.js").EventStore;
  }) => Promise<T>,
): Promise<T> {
  const { openDatabase } = await import("../store/database.js");
  const { EventStore } = await import("../store/events.js");
  const { RoutineStore } = await import("../store/routines.js");
  const { openForVerb } = await import("./executor.js");
  const db = await openForVerb(() => openDatabase(options));
  try {
    return await body({ routines: new RoutineStore(db.pool), structures: new EventStore(db.pool) });
  } finally {
    await db.close();
  }
}

/** The routines of the runbook files a worker watches; refuses a file that is invalid or has none. */
export function loadWatched(files: string[]): WatchedRoutine[] {
  const watched: WatchedRoutine[] = [];
  const once = files.filter((f, i) => files.findIndex((g) => path.resolve(g) === path.resolve(f)) === i);
  for (const file of once) {
    const { runbook, source } = load(file);
    if (runbook.routines.length === 0) throw new UsageError(`--routines: ${file} declares no routines`);
    for (const spec of runbook.routines) {
      // An occurrence is the service, the routine and the time: two files cannot share one.
      const other = watched.find((w) => w.service === runbook.metadata.service && w.spec.name === spec.name);
      if (other)
        throw new UsageError(
          `--routines: ${file} and ${other.file} both declare routine ${spec.name} of service ${runbook.metadata.service}; rename one`,
        );
      watched.push({ file, source, service: runbook.metadata.service, spec });
    }
  }
  return watched;
}

/** Keeps the routines in this worker (its engine launched), logging each occurrence's outcome. */
export async function keep(watched: WatchedRoutine[]): Promise<void> {
  const { keepRoutines } = await import("../engine/routine-loop.js");
  keepRoutines(watched, (r, at, o) => out(outcomeLine(r, at, o)));
}

/** One line for the worker's log on an occurrence's outcome. */
export function outcomeLine(r: WatchedRoutine, occurrence: string, o: RoutineOutcome | Error): string {
  if (o instanceof Error) return `[routine ${r.spec.name}] ${occurrence}: could not run: ${o.message}`;
  const failed = o.run.results.filter((c) => c.phase !== "successful").map((c) => c.name);
  const alerts = o.alerts.map((a) => `${a.kind} alert ${a.ok ? "→" : "NOT DELIVERED to"} ${a.channel}`);
  return `[routine ${r.spec.name}] ${occurrence}: ${o.run.passed ? "passed" : `failed (${failed.join(", ")})`}${alerts.length ? `; ${alerts.join(", ")}` : ""}`;
}

/** A time as people in the routine's time zone read it. */
function local(iso: string, timeZone: string): string {
  const text = new Date(iso).toLocaleString("sv-SE", { timeZone, hour12: false });
  return `${text.endsWith(":00") ? text.slice(0, 16) : text} ${timeZone}`;
}
