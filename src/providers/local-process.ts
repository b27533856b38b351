/**
 * The local-process provider: serves one version of a service as a process on a loopback
 * port, for the quickstart and for trying runbooks on one machine.
 *
 * deploy(version) stops the running version (SIGTERM to its process group, SIGKILL after
 * 5 s), starts `start` with /bin/sh -c in its own process group, detached and unref'd so it
 * keeps serving after Gantry exits or is killed, with PORT and VERSION set and its output
 * appended to `<stateDir>/<version>.log`; then it polls http://127.0.0.1:<port><health>
 * until 200 or the timeout. state.json records what runs (pid, port) and one entry per real
 * start, which makes a replayed call with the same key a no-op, or a resumed wait when the
 * earlier call started the process but did not see it become healthy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import { groupAlive, isOurGroup, procStartTime, stopGroup } from "./process-group.js";
import {
  type CurrentDeployment,
  type DeployAction,
  durationText,
  effectiveTimeout,
  StateFile,
  sameVersion,
  sleep,
  thrown,
} from "./state.js";
import type { DeployRequest, DeployResult, Provider, ProviderOptions, ProviderStatus } from "./types.js";

export type LocalProcessSpec = Extract<z.output<typeof Deploy>, { provider: "local-process" }>;

const POLL_MS = 100;
const REQUEST_TIMEOUT_MS = 1000;
const LOG_LINES = 10;

type Wait =
  | { kind: "healthy"; afterMs: number }
  | { kind: "timeout"; last: string }
  | { kind: "exited"; code?: number | null; signal?: NodeJS.Signals | null }
  | { kind: "aborted" };

export function createLocalProcessProvider(spec: LocalProcessSpec, options: ProviderOptions): Provider {
  const store = new StateFile(options.stateDir);
  const where = `127.0.0.1:${spec.port}`;
  const healthUrl = `http://${where}${spec.health.startsWith("/") ? spec.health : `/${spec.health}`}`;

  // One deploy, rollback or stop at a time: two overlapping starts would fight over the port.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };

  /** The recorded deployment when its process group is alive and still the one we started. */
  const running = (): CurrentDeployment | undefined => {
    const current = store.read().current;
    return current?.pid !== undefined && isOurGroup(current.pid, current.procStart) ? current : undefined;
  };

  const logPathFor = (version: string) => join(options.stateDir, `${version.replace(/[^\w.-]/g, "_")}.log`);

  /** Waits for the health URL to answer 200; `exitOf` reports the started shell's exit when known. */
  async function waitHealthy(
    pid: number,
    exitOf: (() => { code: number | null; signal: NodeJS.Signals | null } | undefined) | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Wait> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let last = "no answer yet";
    for (;;) {
      if (signal?.aborted) return { kind: "aborted" };
      if (!groupAlive(pid)) {
        // A child of ours that just exited: its exit code arrives once Node has reaped it.
        for (let i = 0; exitOf && !exitOf() && i < 50; i++) await sleep(10);
        return { kind: "exited", ...exitOf?.() };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { kind: "timeout", last };
      const answer = await probe(healthUrl, Math.min(REQUEST_TIMEOUT_MS, remaining), signal);
      if (answer.status === 200) return { kind: "healthy", afterMs: Date.now() - started };
      last = answer.status !== undefined ? `HTTP ${answer.status}` : answer.error;
      await sleep(Math.max(0, Math.min(POLL_MS, deadline - Date.now())), signal);
    }
  }

  /** The outcome of a wait, recorded in state.json and said in one line. */
  async function conclude(
    wait: Wait,
    run: { key: string; version: string; pid: number; logPath: string; logFrom: number; timeoutMs: number },
    describeHealthy: (afterMs: number) => string,
  ): Promise<DeployResult> {
    const { key, version, pid, logPath } = run;
    const output = tail(logPath, run.logFrom, LOG_LINES).map(options.redact);
    for (const line of output) options.onLine?.(line);
    if (wait.kind === "healthy") {
      const message = describeHealthy(wait.afterMs);
      store.finish(key, "ok", message);
      return { ok: true, version, message, output };
    }
    if (wait.kind === "aborted") {
      return {
        ok: false,
        message: `stopped waiting for ${version} (pid ${pid}) to become healthy; it keeps running, and a retry with the same key resumes the wait`,
        output,
      };
    }
    let message: string;
    if (wait.kind === "timeout") {
      await stopGroup(pid);
      message = `${version} did not become healthy within ${durationText(run.timeoutMs)} (last: ${wait.last}); see ${logPath}`;
    } else {
      const lastLine = output.at(-1);
      const how =
        wait.code === 127
          ? "did not start: command not found (exit 127)"
          : wait.signal
            ? `exited on ${wait.signal} before becoming healthy`
            : wait.code !== undefined && wait.code !== null
              ? `exited with code ${wait.code} before becoming healthy`
              : "exited before becoming healthy";
      message = `${version} ${how}${lastLine ? ` (last output: ${JSON.stringify(lastLine)})` : ""}; see ${logPath}`;
    }
    store.finish(key, "failed", message, (state) => {
      if (state.current?.pid === pid) delete state.current;
    });
    return { ok: false, message, output };
  }

  async function start(action: DeployAction, request: DeployRequest): Promise<DeployResult> {
    const { version, key, signal } = request;
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const before = running();
    const entry = store.entry(key);
    const logPath = logPathFor(version);

    // The same key again: nothing to do when its version serves and is healthy; keep waiting
    // when the earlier call started the process and never saw it healthy.
    if (entry && before && entry.version === version && sameVersion(before.version, version)) {
      const previousVersion = entry.previousVersion;
      if (entry.result === "ok") {
        const answer = await probe(healthUrl, REQUEST_TIMEOUT_MS, signal);
        if (answer.status === 200) {
          return {
            ok: true,
            replayed: true,
            version,
            previousVersion,
            message: `${version} already serving (pid ${before.pid}) on ${where} for ${key}; nothing done`,
          };
        }
      } else if (entry.result === "in-progress" && entry.pid === before.pid) {
        const pid = before.pid!;
        const wait = await waitHealthy(pid, undefined, timeoutMs, signal);
        const logFrom = Math.max(0, fileSize(logPath) - 4096);
        const result = await conclude(
          wait,
          { key, version, pid, logPath, logFrom, timeoutMs },
          (ms) => `${version} (pid ${pid}, started earlier for ${key}) became healthy after ${ms} ms`,
        );
        return { ...result, replayed: true, previousVersion };
      }
    }

    // A real start: stop what runs, make sure the port is ours to take, start, wait.
    const previousVersion = before?.version;
    if (before?.pid !== undefined) {
      await stopGroup(before.pid);
      store.update((state) => {
        if (state.current?.pid === before.pid) delete state.current;
      });
    }
    if (await portStaysTaken(spec.port, before ? 1000 : 0)) {
      return {
        ok: false,
        previousVersion,
        message: `port ${spec.port} is in use by another process${before ? ` (${before.version} was stopped)` : ""}`,
      };
    }

    mkdirSync(options.stateDir, { recursive: true });
    const command = options.render(spec.start, { version, previousVersion });
    appendFileSync(
      logPath,
      `--- ${new Date().toISOString()} gantry ${action} ${version} (key ${key}): ${options.redact(command)}\n`,
    );
    const logFrom = fileSize(logPath);
    const child = await spawnDetached(command, options.cwd, logPath, {
      ...process.env,
      ...options.env,
      PORT: String(spec.port),
      VERSION: version,
    });
    if ("error" in child) {
      return { ok: false, previousVersion, message: `could not start ${version}: ${child.error}` };
    }
    const pid = child.pid;
    const startedAt = new Date().toISOString();
    store.begin({ key, version, action, pid, ...(previousVersion ? { previousVersion } : {}) }, (state) => {
      state.current = { version, pid, port: spec.port, startedAt, procStart: procStartTime(pid) };
    });

    const wait = await waitHealthy(pid, child.exit, timeoutMs, signal);
    const result = await conclude(
      wait,
      { key, version, pid, logPath, logFrom, timeoutMs },
      (ms) =>
        `${action === "deploy" ? "started" : "rolled back to"} ${version} (pid ${pid}) on ${where}, healthy after ${ms} ms`,
    );
    return { ...result, previousVersion };
  }

  const guarded = (action: DeployAction, request: DeployRequest) =>
    serial(() =>
      start(action, request).catch(
        (e: unknown): DeployResult => thrown(action, request.version, e, options.redact),
      ),
    );

  return {
    name: "local-process",

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      const current = running();
      if (!current) {
        const recorded = store.read().current;
        return {
          healthy: false,
          message: recorded
            ? `${recorded.version} is not running (pid ${recorded.pid} has exited)`
            : "nothing running",
        };
      }
      const answer = await probe(healthUrl, REQUEST_TIMEOUT_MS, signal);
      const healthy = answer.status === 200;
      const detail = healthy
        ? "healthy"
        : `unhealthy (${answer.status ? `HTTP ${answer.status}` : answer.error})`;
      return {
        version: current.version,
        healthy,
        message: `${current.version} running (pid ${current.pid}) on ${where}, ${detail}`,
      };
    },

    async lastKnownGood() {
      return store.lastKnownGood();
    },

    deploy: (request) => guarded("deploy", request),
    rollback: (request) => guarded("rollback", request),

    async markGood(version: string) {
      store.markGood(version);
    },

    stop: () =>
      serial(async () => {
        const current = running();
        if (current?.pid !== undefined) await stopGroup(current.pid);
        store.update((state) => {
          delete state.current;
        });
      }),
  };
}

/** Starts `/bin/sh -c command` in its own process group, output appended to the log, not waited for. */
async function spawnDetached(
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
function probe(
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
async function portStaysTaken(port: number, graceMs: number): Promise<boolean> {
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

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last `n` non-empty lines written to a log since byte `from` (at most the last 16 KB). */
function tail(path: string, from: number, n: number): string[] {
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
