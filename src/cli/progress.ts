/**
 * Showing a run as it goes. On a terminal: a step tree redrawn in place, with each step's
 * status and elapsed time and the countdown to the next monitoring checkpoint. Elsewhere (CI,
 * a pipe, a log file): one plain line per thing that happened. Both are drawn from the run's
 * events, the same way `gantry status` is.
 */

import { foldRun, type RunView, type StepView } from "../engine/state.js";
import { formatMs } from "../exec/command.js";
import type { RunEvent } from "../store/events.js";

export interface Progress {
  push(event: RunEvent): void;
  stop(): void;
}

const ICON: Record<StepView["status"], string> = {
  pending: "·",
  running: "▶",
  waiting: "⏸",
  passed: "✔",
  failed: "✖",
  skipped: "−",
};

export function interactive(stream: NodeJS.WriteStream): boolean {
  // A terminal of unknown size (rows 0) cannot be redrawn in place.
  return Boolean(stream.isTTY) && (stream.rows ?? 0) > 0 && !process.env.CI && process.env.TERM !== "dumb";
}

/** Chooses the live view for a terminal, plain lines otherwise. */
export async function startProgress(stream: NodeJS.WriteStream, initial: RunEvent[] = []): Promise<Progress> {
  return interactive(stream) ? liveProgress(stream, initial) : plainProgress(stream, initial);
}

export function plainProgress(stream: NodeJS.WritableStream, initial: RunEvent[] = []): Progress {
  const write = (e: RunEvent) => {
    const line = plainLine(e);
    if (line) stream.write(`${e.at.slice(11, 19)} ${line}\n`);
  };
  for (const e of initial) write(e);
  return { push: write, stop: () => undefined };
}

/** One line for an event worth a line; undefined for the rest. */
export function plainLine(e: RunEvent): string | undefined {
  const d = e.data as Record<string, unknown>;
  switch (e.kind) {
    case "run.created":
      return `run ${e.runId}: ${String(d.service)} ${String(d.version)} → ${String(d.environment)}`;
    case "run.started":
      return `started${d.previousVersion ? `; serving now: ${String(d.previousVersion)}` : ""}`;
    case "run.resumed":
      return `resumed by pid ${String(d.pid)}`;
    case "run.interrupted":
      return `interrupted (${String(d.signal)}); continue with: gantry resume ${e.runId}`;
    case "executor.lost":
      return `this executor (pid ${String(d.pid)}) lost the run to ${d.holder ? `pid ${String((d.holder as { pid?: unknown }).pid)}` : "another process"}; it stopped acting on it`;
    case "control.sent":
      return undefined;
    case "step.started":
      return `${String(d.phase ?? "")} ${e.step}: started`.trim();
    case "step.finished":
      return `${e.step}: ${String(d.status)}${d.message ? ` — ${String(d.message)}` : ""}`;
    case "output":
      return `  | ${String(d.line)}`;
    case "approval.waiting":
      return `waiting for ${String(d.what)} (${String(d.needed)} needed): gantry approve ${e.runId}`;
    case "approval":
      return `approved by ${String(d.by)} (${String(d.count)}/${String(d.needed)})`;
    case "monitor.started":
      return `monitoring from T=${String(d.t).slice(11, 19)} until ${String(d.endsAt).slice(11, 19)}, every ${String(d.interval)}`;
    case "measurement":
      return `  ${String(d.signal)} = ${d.value === null ? String(d.phase) : String(d.value)} (${String(d.phase)})`;
    case "verdict":
      return `rule ${String(d.rule)}: ${String(d.reason)}${d.watch ? ` → would ${String(d.action)} (watch only)` : d.state === "fired" ? ` → ${String(d.action)}` : ""}`;
    case "decision":
      return `received ${String(d.type)} from ${String(d.by)}${d.reason ? `: ${String(d.reason)}` : ""}`;
    case "rollback.started":
      return `ROLLING BACK ${d.to ? `to ${String(d.to)}` : "(no earlier version known)"}: ${String(d.reason)}`;
    case "rollback.finished":
      return `rollback ${d.ok ? "complete" : "did not complete"}${typeof d.detectToDoneMs === "number" ? ` (${formatMs(d.detectToDoneMs)} from detection)` : ""}`;
    case "migrations.loss":
      return `database rollback (${String(d.strategy)}): ${String(d.statement)}`;
    case "run.finished":
      return `${String(d.outcome).toUpperCase()}: ${String(d.reason)}`;
    default:
      return undefined;
  }
}

async function liveProgress(stream: NodeJS.WriteStream, initial: RunEvent[]): Promise<Progress> {
  const { createLogUpdate } = await import("log-update");
  const update = createLogUpdate(stream, { showCursor: true });
  const events = [...initial];
  const lines: string[] = [];
  const draw = () => {
    const view = foldRun(events, true);
    if (view) update(renderTree(view, Date.now(), lines));
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  draw();
  return {
    push: (e) => {
      events.push(e);
      if (e.kind === "output") {
        lines.push(String(e.data.line));
        if (lines.length > 3) lines.shift();
      } else if (e.kind === "step.started") lines.length = 0;
      draw();
    },
    stop: () => {
      clearInterval(timer);
      draw();
      update.done();
    },
  };
}

/** The step tree, as drawn on a terminal and by `gantry status`. */
export function renderTree(view: RunView, now: number, outputTail: string[] = []): string {
  const out: string[] = [];
  out.push(
    `${view.service} ${view.version} → ${view.environment}   run ${view.id}   ${view.status.toUpperCase()}`,
  );
  let phase = "";
  for (const s of view.steps) {
    if (s.phase !== phase) {
      phase = s.phase;
      out.push(`  ${phase}`);
    }
    const started = s.startedAt ? Date.parse(s.startedAt) : undefined;
    const ended = s.finishedAt ? Date.parse(s.finishedAt) : undefined;
    const elapsed = started ? formatMs(Math.max(0, (ended ?? now) - started)) : "";
    let extra = s.message ? `  ${s.message}` : "";
    if (s.status === "running" && s.kind === "checkpoint" && view.monitor?.nextCheckpoint) {
      const left = Date.parse(view.monitor.nextCheckpoint.at) - now;
      extra = `  ${view.monitor.nextCheckpoint.name} in ${formatMs(Math.max(0, Math.round(left / 1000) * 1000))}`;
    }
    out.push(`    ${ICON[s.status]} ${s.title.padEnd(34)} ${elapsed.padStart(7)}${extra}`);
    if (s.status === "running") for (const l of outputTail) out.push(`        | ${l.slice(0, 100)}`);
  }
  if (view.waiting) {
    out.push(
      `  waiting for ${view.waiting.what}: ${view.waiting.approvals.length}/${view.waiting.needed} — gantry approve ${view.id}`,
    );
  }
  for (const w of view.wouldHave) out.push(`  watch: ${w}`);
  if (view.rollback) out.push(`  rollback: ${view.rollback.reason}`);
  if (view.reason) out.push(`  ${view.reason}`);
  return out.join("\n");
}
