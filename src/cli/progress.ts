/**
 * Showing a run as it goes. On a terminal: a step tree redrawn in place, with each step's
 * status and elapsed time; while monitoring, under the running checkpoint, each signal's
 * latest value, what each rule says about it and the countdown to the checkpoint. Elsewhere
 * (CI, a pipe, a log file): one plain line per thing that happened. Both are drawn from the
 * run's events, the same way `gantry status` is.
 *
 * A measurement and a rule's verdict are two things and are shown apart: a measurement's
 * phase only says whether measuring worked (shown when it did not: `error: connection
 * refused`); whether the value is good is the rules' business (ok, in breach 2s of 3s,
 * fired → rollback, missing data).
 */

import { formatHeld, formatValue } from "../analysis/rules.js";
import { foldRun, type RunView, type StepView } from "../engine/state.js";
import { formatMs } from "../exec/command.js";
import type { Value } from "../probes/types.js";
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
      if (d.form === "override")
        return `waiting for the window, or an ${String(d.what)} (${String(d.needed)} needed): gantry override ${e.runId} --reason …`;
      if (d.form === "choice")
        return `waiting for ${String(d.what)}: ${choiceOptions(d)} — gantry approve ${e.runId} --choice NAME`;
      return `waiting for ${String(d.what)} (${String(d.needed)} needed): gantry approve ${e.runId}`;
    case "approval":
      if (d.choice !== undefined)
        return `${String(d.choice)} picked by ${String(d.by)}${d.role ? ` for ${String(d.role)}` : ""}${d.comment ? `: ${String(d.comment)}` : ""}`;
      return `approved by ${String(d.by)}${d.role ? ` for ${String(d.role)}` : ""} (${String(d.count)}/${String(d.needed)})${d.comment ? `: ${String(d.comment)}` : ""}`;
    case "checklist.item":
      return `item ${String(d.item)} signed off by ${String(d.by)}: ${String(d.text)}`;
    case "handoff":
      return `incident command handed over from ${String(d.from)} to ${String(d.to)}${d.note ? `: ${String(d.note)}` : ""}`;
    case "schedule.due":
      return `due ${String(d.due).slice(0, 19).replace("T", " ")}${d.owner ? ` (owner ${String(d.owner)})` : ""}`;
    case "sla.started":
      return d.mitigateBy === undefined
        ? `${String(d.severity)} ${String(d.incident)}: answer by ${String(d.ackBy).slice(11, 19)} (gantry approve ${e.runId})`
        : `${String(d.severity)} ${String(d.incident)}: acknowledge by ${String(d.ackBy).slice(11, 19)}, mitigate by ${String(d.mitigateBy).slice(11, 19)} (gantry ack ${e.runId})`;
    case "sla.met":
      return `${String(d.incident)}: ${d.target === "ack" ? `acknowledged${d.by ? ` by ${String(d.by)}` : ""}` : "mitigated"} after ${formatMs(Number(d.ms))}`;
    case "sla.breached":
      return `${String(d.message)}${d.escalatedTo ? ` → paging ${String(d.escalatedTo)}` : ""}${d.why ? ` (${String(d.why)})` : ""}`;
    case "approval.reminded":
      return `reminder ${String(d.reminder)}: still waiting${d.paged ? ` → paging ${String(d.paged)}` : ""}${d.why ? ` (${String(d.why)})` : ""}`;
    case "rollback.requested":
      return `rollback asked by ${String(d.by)} (${String(d.count)}/${String(d.needed)}): ${String(d.reason)}`;
    case "window.closed":
      return `deployment window closed: ${String(d.reason)}${d.nextOpen ? `; it next opens ${String(d.nextOpen)}` : ""}`;
    case "monitor.started":
      return `monitoring from T=${String(d.t).slice(11, 19)} until ${String(d.endsAt).slice(11, 19)}, every ${String(d.interval)}`;
    case "monitor.gap":
      return `monitoring was interrupted for ${formatMs(Number(d.ms))} (${String(d.from).slice(11, 19)}–${String(d.to).slice(11, 19)}): no checkpoint passes before ${String(d.freshNeeded)} fresh samples`;
    case "measurement":
      return `  ${measured(d)}`;
    case "verdict":
      return verdictLine(d);
    case "decision":
      return `received ${String(d.type)} from ${String(d.by)}${d.reason ? `: ${String(d.reason)}` : ""}`;
    case "rollback.started":
      return `ROLLING BACK ${d.to ? `to ${String(d.to)}` : "(no earlier version known)"}: ${String(d.reason)}`;
    case "rollback.finished":
      return `rollback ${d.ok ? "complete" : "did not complete"}${typeof d.detectToDoneMs === "number" ? ` (${formatMs(d.detectToDoneMs)} from detection)` : ""}`;
    case "rollback.chosen":
      return `chose ${String(d.option)} (${String(d.by)}): ${String(d.reason)}`;
    case "migrations.loss":
      return `database rollback (${String(d.strategy)}): ${String(d.statement)}`;
    case "run.finished":
      return `${String(d.outcome).toUpperCase()}: ${String(d.reason)}`;
    case "notify.sent":
      return `told ${String(d.channel)} (${String(d.event)}): ${String(d.excerpt)}`;
    case "notify.retry":
      return `message to ${String(d.channel)} (${String(d.event)}): attempt ${String(d.attempt)} failed (${String(d.error)}); trying again in ${formatMs(Number(d.waitMs))}`;
    case "notify.failed":
      return `could not tell ${String(d.channel)} (${String(d.event)}, template ${String(d.template)})${Number(d.attempts) ? ` after ${String(d.attempts)} attempts` : ""}: ${String(d.error)}`;
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
    if (view) update(renderTree(view, Date.now(), lines, foldMonitor(events)));
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

/**
 * The step tree, as drawn on a terminal and by `gantry status`. With `monitor` (folded from
 * the same events by foldMonitor), a running checkpoint shows the signals and rules under it.
 */
export function renderTree(
  view: RunView,
  now: number,
  outputTail: string[] = [],
  monitor?: MonitorReadings,
): string {
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
    const monitoring =
      s.status === "running" &&
      (s.kind === "checkpoint" || s.kind === "success") &&
      view.monitor !== undefined;
    if (monitoring) {
      const countdown = checkpointCountdown(view, s, now, monitor);
      if (countdown) extra = `  ${countdown}`;
    }
    out.push(`    ${ICON[s.status]} ${s.title.padEnd(34)} ${elapsed.padStart(7)}${extra}`);
    if (s.status === "running") for (const l of outputTail) out.push(`        | ${l.slice(0, 100)}`);
    if (monitoring && monitor) out.push(...monitorLines(monitor));
  }
  if (view.waiting?.options) {
    out.push(
      `  waiting for ${view.waiting.what}: ${choiceOptions(view.waiting)} — gantry approve ${view.id} --choice NAME`,
    );
  } else if (view.waiting) {
    out.push(
      `  waiting for ${view.waiting.what}: ${view.waiting.approvals.length}/${view.waiting.needed} — gantry approve ${view.id}`,
    );
  }
  for (const w of view.wouldHave) out.push(`  watch: ${w}`);
  if (view.rollback) out.push(`  rollback: ${view.rollback.reason}`);
  if (view.reason) out.push(`  ${view.reason}`);
  const m = view.messages;
  if (m.queued > 0 || m.failed.length > 0) {
    const going = m.queued - m.sent - m.failed.length;
    out.push(
      `  messages: ${m.sent} sent${m.failed.length ? `, ${m.failed.length} not delivered` : ""}${going > 0 ? `, ${going} being delivered` : ""}`,
    );
    for (const f of m.failed)
      out.push(
        `    ✗ ${f.template} to ${f.channel} (${f.event})${f.required ? " [required]" : ""}: ${f.error}`,
      );
  }
  return out.join("\n");
}

// ——— monitoring: signals and rules ———

/** A signal's latest measurement. */
export interface SignalReading {
  signal: string;
  sample: number;
  phase: string;
  value: Value | null;
  message: string;
  /** Epoch ms: when it was measured. */
  at: number;
}

/** What a rule's latest verdict says. */
export interface RuleReading {
  rule: string;
  /** The signal the rule judges, when its reason names a measured signal. */
  signal?: string;
  state: "ok" | "pending" | "fired" | "missing";
  sample: number;
  /** Pending: how long the condition has held, as of `sample`; fired: how long it held. */
  heldMs?: number;
  /** Pending: the rule's `for:` window (engines that record it). */
  forMs?: number;
  action?: string;
  watch?: boolean;
  /** Fired: epoch ms. */
  firedAt?: number;
}

/** Monitoring as the events tell it so far: each signal's latest value and each rule's latest state. */
export interface MonitorReadings {
  /** Epoch ms of T. */
  t?: number;
  /** In the order they were first measured. */
  signals: SignalReading[];
  /** In the order they first had a verdict. Rules with none yet are not known. */
  rules: RuleReading[];
  /** Epoch ms at which each sample was measured (its first measurement). */
  sampleTimes: number[];
  /** Whether the engine records pending and ok verdicts (one was seen): then no pending rule means none is in breach. */
  recordsPending: boolean;
}

const RULE_STATES = new Set(["ok", "pending", "fired", "missing"]);

/**
 * Folds monitoring events into the latest reading of each signal and rule.
 *
 * An engine records a rule's verdict only when it says something (today: fired once per
 * episode, missing data at every sample it is missing; newer engines also pending at every
 * sample in breach, and ok when a pending or fired rule clears). So a missing or pending
 * verdict that a later, complete sample did not repeat no longer holds and is dropped: the
 * rule's state is then unknown, never a stale "missing data". A fired verdict stays, shown
 * with when it fired, until an ok verdict clears it.
 */
export function foldMonitor(events: RunEvent[]): MonitorReadings {
  const signals = new Map<string, SignalReading>();
  const rules = new Map<string, RuleReading>();
  const sampleTimes = new Map<number, number>();
  let t: number | undefined;
  // The latest sample measured, and the latest whose verdicts have all been written: the
  // engine writes a sample's measurements, then its verdicts, then anything else.
  let latest = -1;
  let complete = -1;
  let recordsPending = false;
  for (const e of events) {
    const d = e.data ?? {};
    switch (e.kind) {
      case "monitor.started": {
        const ms = Date.parse(String(d.t));
        if (Number.isFinite(ms)) t = ms;
        break;
      }
      case "measurement": {
        const sample = integer(d.sample) ?? latest;
        if (sample > latest) {
          complete = Math.max(complete, latest);
          latest = sample;
        }
        const at = Date.parse(typeof d.at === "string" ? d.at : e.at);
        const signal = String(d.signal ?? "?");
        signals.set(signal, {
          signal,
          sample,
          phase: String(d.phase ?? "successful"),
          value: isValue(d.value) ? d.value : null,
          message: typeof d.message === "string" ? d.message : "",
          at,
        });
        if (!sampleTimes.has(sample) && Number.isFinite(at)) sampleTimes.set(sample, at);
        break;
      }
      case "verdict": {
        const state = String(d.state);
        if (typeof d.rule !== "string" || !RULE_STATES.has(state)) break;
        if (state === "pending" || state === "ok") recordsPending = true;
        const previous = rules.get(d.rule);
        const text =
          typeof d.reason === "string" ? d.reason : typeof d.explanation === "string" ? d.explanation : "";
        const signal = subjectOf(text, signals.keys()) ?? previous?.signal;
        const reading: RuleReading = {
          rule: d.rule,
          state: state as RuleReading["state"],
          sample: integer(d.sample) ?? latest,
        };
        if (signal !== undefined) reading.signal = signal;
        const heldMs = finite(d.heldMs);
        if (heldMs !== undefined) reading.heldMs = heldMs;
        const forMs = finite(d.forMs);
        if (forMs !== undefined && forMs > 0) reading.forMs = forMs;
        if (typeof d.action === "string") reading.action = d.action;
        if (d.watch === true) reading.watch = true;
        const firedAt = finite(d.firedAt);
        if (firedAt !== undefined) reading.firedAt = firedAt;
        rules.set(d.rule, reading);
        break;
      }
      // Written by other processes (and couriers) at any time: they say nothing about where sampling is.
      case "control.sent":
      case "output":
      case "notify.attempt":
      case "notify.sent":
      case "notify.retry":
      case "notify.failed":
        break;
      default:
        complete = latest;
    }
  }
  const current = [...rules.values()].filter(
    (r) => !((r.state === "pending" || r.state === "missing") && r.sample < complete),
  );
  return {
    ...(t === undefined ? {} : { t }),
    signals: [...signals.values()],
    rules: current,
    sampleTimes: [...sampleTimes.values()],
    recordsPending,
  };
}

/** `T+10s in 4s`, or why a checkpoint that is due has not passed. */
function checkpointCountdown(
  view: RunView,
  step: StepView,
  now: number,
  monitor: MonitorReadings | undefined,
): string {
  let name: string;
  let at: number;
  if (step.kind === "checkpoint") {
    const next = view.monitor?.nextCheckpoint;
    // Until the step's own checkpoint.next is written, the one recorded is the previous checkpoint's.
    if (!next || `checkpoint:${next.name}` !== step.id) return "";
    name = next.name;
    at = Date.parse(next.at);
  } else {
    name = "success";
    at = Date.parse(view.monitor?.endsAt ?? "");
  }
  if (!Number.isFinite(at)) return "";
  const left = at - now;
  if (left > 0) return `${name} in ${formatMs(Math.ceil(left / 1000) * 1000)}`;
  // A checkpoint passes only when no enforced rule is in breach: the engine samples on past
  // it. A rule recorded as pending says so; in logs without pending verdicts, two samples
  // after the checkpoint's time do (at most one is taken there when nothing holds it).
  const held = monitor?.recordsPending
    ? monitor.rules.some((r) => r.state === "pending")
    : (monitor?.sampleTimes.filter((ms) => ms > at).length ?? 0) >= 2;
  return `${name} due${held ? "; sampling on while a rule is in breach" : ""}`;
}

/** The signals and rules, one line per signal with the rules about it, then rules about no known signal. */
function monitorLines(monitor: MonitorReadings): string[] {
  const rows: [string, string][] = monitor.signals.map((s) => [
    clip(measured(s), 48),
    monitor.rules
      .filter((r) => r.signal === s.signal)
      .map((r) => ruleState(r, monitor.t))
      .join("; "),
  ]);
  const known = new Set(monitor.signals.map((s) => s.signal));
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  const lines = rows.map(([left, right]) => `        ${right ? `${left.padEnd(width)}   ${right}` : left}`);
  for (const r of monitor.rules) {
    if (r.signal === undefined || !known.has(r.signal)) lines.push(`        rule ${ruleState(r, monitor.t)}`);
  }
  return lines;
}

/** `errors: in breach 2s of 3s`, `errors: fired at T+8s → rollback`, `queue: missing data → hold`, `errors: ok`. */
function ruleState(r: RuleReading, t: number | undefined): string {
  switch (r.state) {
    case "ok":
      return `${r.rule}: ok`;
    case "pending":
      return `${r.rule}: ${inBreach(r.heldMs, r.forMs)}`;
    case "missing":
      return `${r.rule}: missing data${missingAction(r.action)}`;
    case "fired": {
      const when =
        t !== undefined && r.firedAt !== undefined ? ` at T+${formatHeld(floorSecond(r.firedAt - t))}` : "";
      return `${r.rule}: fired${when} → ${consequence(r.action, r.watch)}`;
    }
  }
}

/** `in breach 2s of 3s`; without the rule's window, `in breach for 2s`. */
function inBreach(heldMs: number | undefined, forMs: number | undefined): string {
  if (heldMs === undefined)
    return forMs === undefined ? "in breach" : `in breach, window ${formatHeld(forMs)}`;
  return forMs === undefined
    ? `in breach for ${formatHeld(heldMs)}`
    : `in breach ${formatHeld(heldMs)} of ${formatHeld(forMs)}`;
}

function consequence(action: string | undefined, watch: boolean | undefined): string {
  const a = action ?? "note";
  return watch ? `would ${a} (watch only)` : a;
}

function missingAction(action: string | undefined): string {
  if (action === "ignore") return " (ignored)";
  return action ? ` → ${action}` : "";
}

/** A rollback choice's options as a person picks from them, its default, and until when it waits. */
function choiceOptions(d: {
  options?: unknown;
  default?: unknown;
  deadline?: unknown;
  approvers?: unknown;
}): string {
  const options = (Array.isArray(d.options) ? d.options : []) as Array<{
    name: string;
    description?: string;
  }>;
  const role = (d.approvers as Array<{ role: string }> | undefined)?.[0]?.role;
  const listed = options.map((o) => `${o.name}${o.description ? ` (${o.description})` : ""}`).join(" | ");
  const until =
    typeof d.deadline === "string" ? `, taken at ${d.deadline.slice(11, 19)} if nobody picks` : "";
  return `${role ? `a member of ${role} picks ` : ""}${listed}${d.default ? `; default ${String(d.default)}${until}` : ""}`;
}

/**
 * A measurement: its value, and its phase only when measuring did not work.
 * `error_rate = 0.082`, `readiness: error: connection refused`, `status = 503 (failed: expected 200)`.
 */
function measured(m: { signal?: unknown; phase?: unknown; value?: unknown; message?: unknown }): string {
  const signal = String(m.signal ?? "?");
  const phase = typeof m.phase === "string" ? m.phase : "successful";
  const message = typeof m.message === "string" ? m.message : "";
  const value = isValue(m.value) && m.value !== null ? showValue(m.value) : undefined;
  if (phase === "successful") return value === undefined ? `${signal}: no value` : `${signal} = ${value}`;
  const why = `${phase}${message ? `: ${message}` : ""}`;
  return value === undefined ? `${signal}: ${why}` : `${signal} = ${value} (${why})`;
}

/** One plain line for a verdict: what the rule found, then its state. */
function verdictLine(d: Record<string, unknown>): string {
  const rule = `rule ${typeof d.rule === "string" ? d.rule : "?"}`;
  const reason = typeof d.reason === "string" && d.reason ? d.reason : undefined;
  const action = typeof d.action === "string" ? d.action : undefined;
  switch (d.state) {
    case "fired":
      return `${rule}: ${reason ? `${reason} — ` : ""}fired → ${consequence(action, d.watch === true)}`;
    case "missing":
      return `${rule}: ${reason ? `${reason} — ` : ""}missing data${missingAction(action)}`;
    case "ok":
      return `${rule}: ok (cleared)`;
    case "pending": {
      const heldMs = finite(d.heldMs);
      const forMs = finite(d.forMs);
      const state = inBreach(heldMs, forMs !== undefined && forMs > 0 ? forMs : undefined);
      let detail = typeof d.explanation === "string" ? d.explanation : "";
      // The explanation says `for 2s of 3s` itself; with the numbers in the state, drop it there.
      if (detail && heldMs !== undefined && forMs !== undefined) {
        const marker = ` for ${formatHeld(heldMs)} of `;
        const from = detail.indexOf(marker);
        if (from >= 0) {
          const to = detail.indexOf(" (", from + marker.length);
          detail = detail.slice(0, from) + (to >= 0 ? detail.slice(to) : "");
        }
      }
      if (!detail && isValue(d.value) && d.value !== null) detail = `value ${showValue(d.value)}`;
      return `${rule}: ${detail ? `${detail} — ` : ""}${state}`;
    }
    default:
      return `${rule}: ${reason ?? (typeof d.state === "string" ? d.state : "verdict")}`;
  }
}

/**
 * The rule's subject, from its reason (`error_rate 0.082 > 0.05 …`, `readiness: no data`):
 * the longest measured signal name the text begins with.
 */
function subjectOf(text: string, signals: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const s of signals) {
    if (
      text.startsWith(s) &&
      (text.length === s.length || text[s.length] === " " || text[s.length] === ":")
    ) {
      if (!best || s.length > best.length) best = s;
    }
  }
  return best;
}

function showValue(v: Value): string {
  return v === "" ? '""' : formatValue(v);
}

function isValue(v: unknown): v is Value {
  return v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean";
}

function finite(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function integer(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

function floorSecond(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000) * 1000);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
