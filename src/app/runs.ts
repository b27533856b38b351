/**
 * The operations on runs, with their rules: what a run accepts in each state (an approval
 * only while it waits, once per person; nothing once it has finished), how an interrupted run
 * is aborted, what may be resumed. The CLI verbs and the HTTP API call these and only
 * translate: arguments in, results and refusals out.
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import type { Control } from "../engine/control.js";
import { foldRun, type RunView } from "../engine/state.js";
import type { ControlMessage } from "../engine/types.js";
import { ENGINE_VERSION } from "../engine/version.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import type { EventStore, RunEvent } from "../store/events.js";
import { mayAbort, mayApprove, mayChoose, mayMarkItem, mayReject, mayRollBack } from "./authorize.js";
import type { Identity } from "./identity.js";
import { Refusal } from "./refusal.js";

/** Who is acting: `--as`, else GANTRY_USER, else the login name. */
export function operator(as?: string): string {
  return as ?? process.env.GANTRY_USER ?? process.env.USER ?? userInfo().username;
}

export async function findRun(control: Control, runId: string): Promise<RunView> {
  const view = await control.view(runId);
  if (view) return view;
  const recent = await control.store.runs({ limit: 5 });
  throw new Refusal(
    "not-found",
    `no run ${runId}${recent.length ? `; recent runs: ${recent.join(", ")}` : "; no runs yet"} (gantry status lists them)`,
  );
}

export async function listRuns(control: Control, limit = 20): Promise<RunView[]> {
  const ids = await control.store.runs({ limit });
  const alive = (await control.executor()) !== undefined;
  const views: RunView[] = [];
  for (const id of ids) {
    const v = foldRun(await control.store.list(id), alive);
    if (v) views.push(v);
  }
  return views;
}

export async function runLog(control: Control, runId: string): Promise<RunEvent[]> {
  // The actions log (identities, freezes) reads like a run's.
  if (runId !== ACTIONS_LOG) await findRun(control, runId);
  return control.store.list(runId);
}

/** A finished run accepts nothing more. */
function unfinished(view: RunView, verb: string): void {
  if (!view.outcome) return;
  const hints =
    verb === "rollback" && view.outcome === "released" && view.previousVersion
      ? [
          `To go back to ${view.previousVersion}, release it: gantry release ${view.file} --env ${view.environment} --ref <the ref of ${view.previousVersion}>`,
        ]
      : [];
  throw new Refusal(
    "not-accepted",
    `run ${view.id} has already finished: ${view.outcome} — ${view.reason ?? ""}`,
    hints,
  );
}

export interface Answered {
  what: string;
  by: string;
  rejected: boolean;
  /** The role the approval counted for, when the step names roles. */
  role?: string;
  /** Approvals so far, this one included, and how many are needed. */
  count: number;
  needed: number;
  /** The run is interrupted: it acts on the answer when resumed. */
  interrupted: boolean;
  /** The option picked, for a rollback choice. */
  choice?: string;
}

/**
 * Approves (or rejects) what the run waits for, as `who`, once src/app/authorize.ts has
 * found the role it counts for. Each person counts once.
 */
export async function answer(
  control: Control,
  runId: string,
  who: Identity,
  options: { reject?: boolean; reason?: string; comment?: string; role?: string; choice?: string } = {},
): Promise<Answered> {
  const view = await findRun(control, runId);
  unfinished(view, "approve");
  const waiting = view.waiting;
  if (!waiting) {
    throw new Refusal(
      "not-accepted",
      `run ${runId} is not waiting for an approval; it is at ${view.current?.id ?? "its start"}.`,
    );
  }
  if (options.reject && (waiting.form === "ack" || waiting.form === "override")) {
    throw new Refusal(
      "not-accepted",
      `${waiting.what} cannot be rejected: ${waiting.form === "ack" ? "acknowledge it (gantry ack)" : "override it (gantry override), or let it wait for the window"}, or stop the run with gantry abort`,
    );
  }
  if (options.choice !== undefined && waiting.form !== "choice") {
    throw new Refusal(
      "not-accepted",
      `run ${runId} waits for ${waiting.what}, not for a choice: approve it without --choice`,
    );
  }
  if (options.reject && waiting.form === "choice") {
    throw new Refusal(
      "not-accepted",
      `${waiting.what} cannot be rejected: pick an option with --choice (${(waiting.options ?? []).map((o) => o.name).join(", ")})`,
    );
  }
  const by = who.name;
  const base = { by, step: waiting.step, id: randomUUID(), authenticated: who.authenticated };
  let message: ControlMessage;
  let role: string | undefined;
  if (waiting.form === "choice") {
    role = mayChoose(view, waiting, who, options.choice).role;
    message = {
      type: "approve",
      ...base,
      role,
      choice: options.choice!,
      ...(options.comment ? { comment: options.comment } : {}),
    };
  } else if (options.reject) {
    role = mayReject(view, waiting, who).role;
    message = {
      type: "reject",
      ...base,
      ...(role ? { role } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    };
  } else {
    role = mayApprove(view, waiting, who, options.role !== undefined ? { role: options.role } : {}).role;
    message = {
      type: "approve",
      ...base,
      ...(role ? { role } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
    };
  }
  await control.send(runId, message);
  return {
    what: waiting.what,
    by,
    rejected: options.reject ?? false,
    ...(role ? { role } : {}),
    count: waiting.approvals.length + (options.reject ? 0 : 1),
    needed: waiting.needed,
    interrupted: view.status === "interrupted",
    ...(options.choice !== undefined ? { choice: options.choice } : {}),
  };
}

/** Marks item `item` (from 1) of the checklist `name` the run waits for as done, as `who`. */
export async function markItem(
  control: Control,
  runId: string,
  who: Identity,
  name: string,
  item: number,
  comment?: string,
): Promise<{ what: string; text: string; marked: number; of: number; interrupted: boolean }> {
  const view = await findRun(control, runId);
  unfinished(view, "checklist");
  const waiting = view.waiting;
  if (!waiting || waiting.step !== `checklist:${name}` || !waiting.items) {
    throw new Refusal(
      "not-accepted",
      `run ${runId} is not waiting for checklist ${name}${waiting ? `; it waits for ${waiting.what}` : ""}`,
    );
  }
  const text = waiting.items[item - 1];
  if (text === undefined)
    throw new Refusal("not-accepted", `checklist ${name} has items 1–${waiting.items.length}, not ${item}`);
  const done = waiting.marked.find((m) => m.item === item);
  if (done)
    throw new Refusal(
      "not-accepted",
      `item ${item} of checklist ${name} was already signed off by ${done.by}`,
    );
  const { role } = mayMarkItem(view, waiting, who);
  await control.send(runId, {
    type: "item",
    by: who.name,
    step: waiting.step,
    id: randomUUID(),
    item,
    ...(role ? { role } : {}),
    ...(comment ? { comment } : {}),
  });
  return {
    what: waiting.what,
    text,
    marked: waiting.marked.length + 1,
    of: waiting.items.length,
    interrupted: view.status === "interrupted",
  };
}

/**
 * Hands the incident command over, during a rollback or while an incident waits for its
 * acknowledgement: recorded in the run's log with the outgoing and the incoming commander.
 */
export async function handoff(
  control: Control,
  runId: string,
  who: Identity,
  to: string,
  options: { from?: string; note?: string } = {},
): Promise<{ from: string; to: string }> {
  const view = await findRun(control, runId);
  unfinished(view, "handoff");
  if (!view.rollback && view.waiting?.form !== "ack") {
    throw new Refusal(
      "not-accepted",
      `run ${runId} has no incident or rollback going on: an emergency handoff is for one (it is at ${view.current?.id ?? "its start"})`,
    );
  }
  const from = options.from ?? who.name;
  await control.send(runId, {
    type: "handoff",
    by: who.name,
    id: randomUUID(),
    from,
    to,
    ...(options.note ? { note: options.note } : {}),
  });
  return { from, to };
}

/** Acknowledges the incident whose response targets the run is timing (`gantry ack RUN`). */
export async function acknowledge(control: Control, runId: string, who: Identity): Promise<Answered> {
  const view = await findRun(control, runId);
  unfinished(view, "ack");
  if (view.waiting?.form !== "ack") {
    throw new Refusal(
      "not-accepted",
      `run ${runId} has no incident waiting for an acknowledgement${view.waiting ? `; it waits for ${view.waiting.what} (gantry approve)` : ""}`,
    );
  }
  return answer(control, runId, who);
}

/** Asks the run to roll back; an interrupted run must then be resumed to act on it. */
export async function requestRollback(
  control: Control,
  runId: string,
  who: Identity,
  reason: string,
): Promise<{ interrupted: boolean; asked: string[]; needed: number; role?: string }> {
  const view = await findRun(control, runId);
  unfinished(view, "rollback");
  mayRollBack(view, who);
  await control.send(runId, { type: "rollback", by: who.name, reason, id: randomUUID() });
  return {
    interrupted: view.status === "interrupted",
    /** Who had asked before, as the run has recorded them so far. */
    asked: view.rollbackAsked,
    needed: view.rollbackCount,
    ...(view.rollbackBy ? { role: view.rollbackBy } : {}),
  };
}

/**
 * Stops a run for good. A running run is asked (it stops at its next step boundary); one that
 * no process runs (interrupted, queued) is cancelled and finished here.
 */
export async function abort(
  control: Control,
  runId: string,
  who: Identity,
  reason?: string,
): Promise<{ immediate: boolean; reason: string }> {
  const by = who.name;
  const view = await findRun(control, runId);
  unfinished(view, "abort");
  mayAbort(view, who);
  if (view.status !== "interrupted" && view.status !== "queued") {
    await control.send(runId, { type: "abort", by, id: randomUUID(), ...(reason ? { reason } : {}) });
    return { immediate: false, reason: `aborted by ${by}${reason ? `: ${reason}` : ""}` };
  }
  // A run whose process died before DBOS started it has no workflow to cancel.
  await control.cancel(runId).catch((e: Error) => {
    if (!/does not exist|not found/i.test(e.message)) throw e;
  });
  const deployed = view.steps.some((s) => s.kind === "deploy" && s.status !== "pending");
  const text = `aborted by ${by}${reason ? `: ${reason}` : ""} while ${view.status}${deployed ? `; ${view.version} may still be serving (roll back with a release of the previous version)` : "; nothing was deployed"}`;
  await control.store.append(runId, {
    key: "finished",
    kind: "run.finished",
    data: {
      run: runId,
      outcome: "aborted",
      reason: text,
      version: view.version,
      previousVersion: view.previousVersion ?? null,
    },
  });
  return { immediate: true, reason: text };
}

/** Refuses to start a new run while an earlier one is unfinished and nobody runs it. */
export async function refuseInterrupted(store: EventStore): Promise<void> {
  for (const id of await store.unfinished()) {
    const view = foldRun(await store.list(id), false);
    if (view?.status !== "interrupted") continue;
    if (view.engine !== ENGINE_VERSION) {
      throw new Refusal(
        "busy",
        `run ${id} (${view.service} ${view.version} → ${view.environment}) was started by an earlier Gantry (engine ${view.engine}; this is ${ENGINE_VERSION}) and is not finished.`,
        [`Finish it with the Gantry that started it, or end it with: gantry abort ${id}`],
      );
    }
    throw new Refusal(
      "busy",
      `run ${id} (${view.service} ${view.version} → ${view.environment}) was interrupted at ${view.current?.id ?? "its start"} and is not finished.`,
      [
        `Finish it first: gantry resume ${id}   or   gantry rollback ${id} --reason …   or   gantry abort ${id}`,
      ],
    );
  }
}

/** Why `gantry resume [RUN]` has nothing to run, or undefined when it has. */
export async function nothingToResume(
  store: EventStore,
  runId: string | undefined,
): Promise<string | undefined> {
  const queuedNote = (ids: string[]) =>
    `${ids.length === 1 ? `run ${ids[0]} is` : `runs ${ids.join(", ")} are`} queued, not interrupted: ${ids.length === 1 ? "it has" : "they have"} not started, and \`gantry worker\` runs queued releases (one per environment at a time). Start one with: gantry worker`;
  if (runId !== undefined) {
    const view = foldRun(await store.list(runId), false);
    if (!view) throw new Refusal("not-found", `no run ${runId} (gantry status lists runs)`);
    if (view.status === "queued") return queuedNote([runId]);
    if (view.outcome)
      return `run ${runId} has nothing to resume: ${view.status}${view.reason ? ` — ${view.reason}` : ""}`;
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
