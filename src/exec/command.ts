/**
 * Runs a shell command the way every Gantry step does: `/bin/sh -c`, in its own process
 * group so a timeout or an abort stops the command and everything it started, with its
 * output captured line by line. Never throws for the command's own failures.
 *
 * One copy of each command, and none left behind:
 * - every command carries a marker (GANTRY_COMMAND_ID) its descendants inherit, so those that
 *   left its group with setsid are found and stopped too (exec/processes.ts);
 * - a command ends when its main process exits: a background child still holding the
 *   output open is stopped with its group and does not turn success into a timeout;
 * - with `track`, the attempt (pid, start time, marker) is written to a file while it runs;
 *   the next attempt of the same step (a resume after a crash) ends whatever the earlier one
 *   left running before it starts, so two copies never run at once;
 * - stopAllCommands() stops every command still running, for SIGINT/SIGTERM.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { endCommand, MARKER_VARIABLE, processesMarked, procStartTime, running } from "./processes.js";

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every output line (stdout and stderr, in arrival order). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep at most this many lines of output (the last ones). Default 200. */
  keepLines?: number;
  /**
   * Record this attempt under `dir` as `key` (a run and step) while it runs, and end an
   * earlier attempt of the same key that is still running before starting.
   */
  track?: { dir: string; key: string };
}

export interface CommandResult {
  /** Exit code; undefined when the command was killed. */
  exitCode?: number;
  timedOut: boolean;
  aborted: boolean;
  /** The last lines of output, stdout and stderr interleaved. */
  output: string[];
  stdout: string;
  durationMs: number;
  /** The shell's "not found" (exit 127) or a spawn failure, in words. */
  problem?: string;
  /** Processes of an earlier attempt of this step that were still running and were ended first. */
  endedEarlier?: number[];
}

const KILL_GRACE_MS = 2000;
/** After the main process exits, how long to wait for output still on its way. */
const DRAIN_MS = 100;

interface Live {
  pid: number;
  marker: string;
  command: string;
  done: Promise<void>;
}

/** Commands started by this process that have not ended. */
const live = new Map<string, Live>();

export async function runCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
  const endedEarlier = options.track ? await endEarlierAttempts(options.track) : [];
  if (endedEarlier.length > 0) {
    options.onLine?.(
      `gantry: an earlier attempt of this step was still running (pid ${endedEarlier.join(", ")}); it was stopped before this one started`,
      "stderr",
    );
  }
  const result = await spawnCommand(command, options);
  return endedEarlier.length ? { ...result, endedEarlier } : result;
}

function spawnCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const started = performance.now();
  const keep = options.keepLines ?? 200;
  const output: string[] = [];
  const marker = randomUUID();
  let stdout = "";
  let markDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    markDone = r;
  });
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn("/bin/sh", ["-c", command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, [MARKER_VARIABLE]: marker },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid;
    let record: string | undefined;
    if (pid) {
      live.set(marker, { pid, marker, command, done });
      if (options.track) record = writeAttempt(options.track, { pid, marker, start: procStartTime(pid) });
    }
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (pid) process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    const stop = () => {
      killGroup("SIGTERM");
      setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS).unref();
    };
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    const partials = { stdout: "", stderr: "" };
    const lines = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      if (settled) return;
      const text = chunk.toString("utf8");
      if (stream === "stdout" && stdout.length < 1_000_000) stdout += text;
      const parts = (partials[stream] + text).split(/\r?\n/);
      partials[stream] = parts.pop() ?? "";
      for (const line of parts) push(line, stream);
    };
    const push = (line: string, stream: "stdout" | "stderr") => {
      output.push(line);
      if (output.length > keep) output.shift();
      options.onLine?.(line, stream);
    };
    child.stdout.on("data", lines("stdout"));
    child.stderr.on("data", lines("stderr"));
    const finish = (result: Partial<CommandResult>) => {
      if (settled) return;
      for (const stream of ["stdout", "stderr"] as const) {
        if (partials[stream]) push(partials[stream], stream);
        partials[stream] = "";
      }
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // The main process is gone; nothing it started in its group lingers.
      killGroup("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
      live.delete(marker);
      if (record) fs.rmSync(record, { force: true });
      markDone();
      resolve({
        timedOut,
        aborted,
        output,
        stdout,
        durationMs: Math.round(performance.now() - started),
        ...result,
      });
    };
    child.on("error", (e) => finish({ problem: `could not start /bin/sh: ${e.message}` }));
    // The step ends when its main process exits, not when every holder of its output has let go.
    child.on("exit", (code) => {
      const problem = code === 127 ? `command not found: ${firstWord(command)} (exit 127)` : undefined;
      const result = { ...(code !== null ? { exitCode: code } : {}), ...(problem ? { problem } : {}) };
      const drain = setTimeout(() => finish(result), DRAIN_MS);
      child.once("close", () => {
        clearTimeout(drain);
        finish(result);
      });
    });
  });
}

/** A command Gantry stopped because the gantry process itself was stopping. */
export interface StoppedCommand {
  pid: number;
  command: string;
  /** Processes ended with it: the command's group and every descendant found. */
  pids: number[];
}

/**
 * Stops every command this process started and has not seen end (their process groups and
 * every descendant, including those that left the group with setsid), and waits until they
 * are gone. Called on SIGINT/SIGTERM before gantry exits.
 */
export async function stopAllCommands(): Promise<StoppedCommand[]> {
  const all = [...live.values()];
  const stopped = await Promise.all(
    all.map(async (c) => ({
      pid: c.pid,
      command: c.command,
      pids: await endCommand(c.pid, c.marker, KILL_GRACE_MS),
    })),
  );
  // Let each command's own bookkeeping (its attempt file) finish.
  await Promise.race([Promise.all(all.map((c) => c.done)), new Promise((r) => setTimeout(r, 1000).unref())]);
  return stopped;
}

// ——— attempts of a step, recorded while they run ———

interface Attempt {
  pid: number;
  marker: string;
  /** /proc start time of the shell, to tell it from a later process that reused its pid. */
  start?: string;
}

function attemptPrefix(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.`;
}

function writeAttempt(track: { dir: string; key: string }, attempt: Attempt): string | undefined {
  try {
    fs.mkdirSync(track.dir, { recursive: true });
    const file = path.join(track.dir, `${attemptPrefix(track.key)}${attempt.marker}.json`);
    fs.writeFileSync(file, JSON.stringify(attempt));
    return file;
  } catch {
    return undefined;
  }
}

/** Ends what an earlier attempt of `key` (in a process that died) left running; returns the pids it ended. */
async function endEarlierAttempts(track: { dir: string; key: string }): Promise<number[]> {
  let names: string[];
  try {
    names = fs.readdirSync(track.dir);
  } catch {
    return [];
  }
  const prefix = attemptPrefix(track.key);
  const ended: number[] = [];
  for (const name of names.filter((n) => n.startsWith(prefix) && n.endsWith(".json"))) {
    const file = path.join(track.dir, name);
    let attempt: Attempt;
    try {
      attempt = JSON.parse(fs.readFileSync(file, "utf8")) as Attempt;
    } catch {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (live.has(attempt.marker)) continue; // still ours, in this process
    const sameShell =
      running(attempt.pid) && (attempt.start === undefined || procStartTime(attempt.pid) === attempt.start);
    if (sameShell || processesMarked(attempt.marker).length > 0) {
      ended.push(...(await endCommand(sameShell ? attempt.pid : undefined, attempt.marker, KILL_GRACE_MS)));
    }
    fs.rmSync(file, { force: true });
  }
  return ended;
}

function firstWord(command: string): string {
  return command.trim().split(/\s+/)[0] ?? command;
}

/** A one-line account of a command's end: "exit 0 in 1.2s", "timed out after 10s". */
export function describeEnd(result: CommandResult, timeoutText?: string): string {
  if (result.timedOut) return `timed out after ${timeoutText ?? `${result.durationMs} ms`}`;
  if (result.aborted) return "stopped";
  if (result.problem) return result.problem;
  return `exit ${result.exitCode ?? "?"} in ${formatMs(result.durationMs)}`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return Number.isInteger(s) || s >= 10 ? `${Math.round(s)}s` : `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m}m${rest ? `${rest}s` : ""}`;
  const h = Math.floor(m / 60);
  return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
}
