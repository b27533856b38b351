/**
 * What the local-process provider and its canary share: starting a command detached in its own
 * process group with its output in a log, one health request, whether a port is taken, and the
 * end of a log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { durationText, sleep } from "./state.js";

/** Starts `/bin/sh -c command` in its own process group, output appended to the log, not waited for. */
export async function spawnDetached(
  command: string,
  cwd: string,
  logPath: string,
  env: NodeJS.ProcessEnv,
): Promise<
  | { pid: number; exit: () => { code: number | null; signal: NodeJS.Signals | null } | undefined }
  | { error: string }
> {
  const fd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn("/bin/sh", ["-c", command], { cwd, env, stdio: ["ignore", fd, fd], detached: true });
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on("exit", (code, signal) => {
    exit = { code, signal };
  });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once("error", resolve));
    return { error: error.message };
  }
  child.on("error", () => {});
  child.unref();
  return { pid: child.pid, exit: () => exit };
}

/** One GET with a short timeout: the status code, or what went wrong in a few words. */
export function probe(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; error?: undefined } | { status?: undefined; error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { connection: "close" }, signal }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${durationText(timeoutMs)}`)));
    req.on("error", (e: NodeJS.ErrnoException) => {
      const words: Record<string, string> = {
        ECONNREFUSED: "connection refused",
        ECONNRESET: "connection reset",
        ABORT_ERR: "stopped",
      };
      resolve({ error: (e.code && words[e.code]) || e.message });
    });
  });
}

/** Whether something listens on 127.0.0.1:port, checked by trying to bind it; retried for `graceMs`. */
export async function portStaysTaken(port: number, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    if (!(await portTaken(port))) return false;
    if (Date.now() >= deadline) return true;
    await sleep(50);
  }
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EADDRINUSE"));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(false)));
  });
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last `n` non-empty lines written to a log since byte `from` (at most the last 16 KB). */
export function tail(path: string, from: number, n: number): string[] {
  const size = fileSize(path);
  const start = Math.max(from, size - 16_384);
  if (size <= start) return [];
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(path, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  return buffer
    .toString("utf8")
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .slice(-n);
}
