import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import type { DeployAction } from "../store/provider-state-store.js";
import { LocalCanary } from "./local-canary.js";
import { fileSize, portStaysTaken, probe, spawnDetached, tail } from "./local-support.js";
import { groupAlive, isOurGroup, procStartTime, stopGroup } from "./process-group.js";
import { ProcessFile, type ProcessRecord } from "./process-record.js";
import { durationText, effectiveTimeout, ranNothing, sameVersion, sleep, thrown } from "./state.js";
import type {
  DeployRequest,
  DeployResult,
  Provider,
  ProviderOptions,
  ProviderStatus,
  ShiftResult,
} from "./types.js";

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
  const store = options.state;
  const processes = new ProcessFile(options.localDir);
  const where = `127.0.0.1:${spec.port}`;
  const healthUrl = `http://${where}${spec.health.startsWith("/") ? spec.health : `/${spec.health}`}`;

  // One deploy, rollback or stop at a time: two overlapping starts would fight over the port.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };

  /** The recorded process when its group is alive and still the one we started. */
  const running = (): ProcessRecord | undefined => {
    const record = processes.read();
    return record && isOurGroup(record.pid, record.procStart) ? record : undefined;
  };

  const logPathFor = (version: string) => join(options.localDir, `${version.replace(/[^\w.-]/g, "_")}.log`);

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

  /**
   * The outcome of a wait, recorded and said in one line. `run.command` and `run.stopped` (the
   * version serving before was stopped) tell a start that changed nothing.
   */
  async function conclude(
    wait: Wait,
    run: {
      key: string;
      version: string;
      pid: number;
      logPath: string;
      logFrom: number;
      timeoutMs: number;
      command?: string;
      stopped?: boolean;
    },
    describeHealthy: (afterMs: number) => string,
  ): Promise<DeployResult> {
    const { key, version, pid, logPath } = run;
    const output = tail(logPath, run.logFrom, LOG_LINES).map(options.redact);
    for (const line of output) options.onLine?.(line);
    if (wait.kind === "healthy") {
      const message = describeHealthy(wait.afterMs);
      await store.finish(key, "ok", message, version);
      return { ok: true, started: true, version, message, output };
    }
    if (wait.kind === "aborted") {
      return {
        ok: false,
        started: true,
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
    if (processes.read()?.pid === pid) processes.write(undefined);
    await store.finish(key, "failed", message, null);
    // The shell found no such command, and no version was stopped for it, now or by an earlier attempt: nothing changed.
    const nothing =
      wait.kind === "exited" &&
      run.stopped === false &&
      run.command !== undefined &&
      ranNothing(run.command, wait.code ?? undefined, output);
    return { ok: false, started: !nothing, message, output };
  }

  /** `touched`: set once the call has stopped or started a process (for a call that throws). */
  async function start(
    action: DeployAction,
    request: DeployRequest,
    touched: { started: boolean },
  ): Promise<DeployResult> {
    const { version, key, signal } = request;
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const before = running();
    const entry = await store.entry(key);
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
            started: true,
            replayed: true,
            version,
            previousVersion,
            message: `${version} already serving (pid ${before.pid}) on ${where} for ${key}; nothing done`,
          };
        }
      } else if (entry.result === "in-progress" && before.key === key) {
        const pid = before.pid;
        const wait = await waitHealthy(pid, undefined, timeoutMs, signal);
        const logFrom = Math.max(0, fileSize(logPath) - 4096);
        const result = await conclude(
          wait,
          { key, version, pid, logPath, logFrom, timeoutMs },
          (ms) => `${version} (pid ${pid}, started earlier for ${key}) became healthy after ${ms} ms`,
        );
        return { ...result, started: true, replayed: true, previousVersion };
      }
    }

    // A real start: stop what runs, make sure the port is ours to take, start, wait.
    const previousVersion = before?.version;
    // An earlier attempt with this key got as far as recording itself: it may have stopped a
    // version. An unfinished one of the same start is carried on rather than recorded again.
    const earlier = entry !== undefined;
    const carryOn = entry?.result === "in-progress" && entry.version === version && entry.action === action;
    let recorded = carryOn;
    /** Records this start once, with what serves: before anything is stopped, or when the process runs. */
    const record = async (serving: string | null) => {
      if (recorded) return store.setCurrent(serving);
      recorded = true;
      await store.begin({ key, version, action, ...(previousVersion ? { previousVersion } : {}) }, serving);
    };
    const changed = () => before !== undefined || earlier;
    const refuse = async (message: string): Promise<DeployResult> => {
      if (recorded) await store.finish(key, "failed", message, null);
      return { ok: false, started: changed(), previousVersion, message };
    };
    if (before) {
      // Recorded first: a retry after a crash in the middle knows a version was stopped.
      touched.started = true;
      await record(before.version);
      await stopGroup(before.pid);
      processes.write(undefined);
      await store.setCurrent(null);
    }
    if (await portStaysTaken(spec.port, before ? 1000 : 0)) {
      return refuse(
        `port ${spec.port} is in use by another process${before ? ` (${before.version} was stopped)` : ""}`,
      );
    }

    mkdirSync(options.localDir, { recursive: true });
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
    if ("error" in child) return refuse(`could not start ${version}: ${child.error}`);
    touched.started = true;
    const pid = child.pid;
    const startedAt = new Date().toISOString();
    const procStart = procStartTime(pid);
    // The process first, on this machine (a crash in between leaves a process a retry stops), then the entry.
    processes.write({ pid, port: spec.port, ...(procStart ? { procStart } : {}), version, key, startedAt });
    await record(version);

    const wait = await waitHealthy(pid, child.exit, timeoutMs, signal);
    const result = await conclude(
      wait,
      { key, version, pid, logPath, logFrom, timeoutMs, command, stopped: changed() },
      (ms) =>
        `${action === "deploy" ? "started" : "rolled back to"} ${version} (pid ${pid}) on ${where}, healthy after ${ms} ms`,
    );
    return { ...result, previousVersion };
  }

  const canary = new LocalCanary({
    spec: { ...spec, health: new URL(healthUrl).pathname },
    options,
    processes,
    logPathFor,
  });

  /**
   * A deploy with a weight starts a canary beside the version serving (alone when none
   * serves); a rollback to the stable version while a canary serves sends everything back to
   * it; any other deploy or rollback first takes the proxy and the canary down.
   */
  async function route(action: DeployAction, request: DeployRequest, touched: { started: boolean }) {
    const stable = running();
    if (action === "deploy" && request.weight !== undefined && request.weight < 1 && stable) {
      touched.started = true;
      return canary.start(request, stable);
    }
    const live = canary.live();
    if (action === "rollback" && live && stable && sameVersion(stable.version, request.version)) {
      touched.started = true;
      return canary.abort(request);
    }
    // The same key again, its version serving: nothing to do, and the proxy stays.
    const entry = await store.entry(request.key);
    if (
      entry?.result === "ok" &&
      entry.version === request.version &&
      stable &&
      sameVersion(stable.version, request.version)
    ) {
      return {
        ok: true,
        started: true,
        replayed: true,
        version: request.version,
        ...(entry.previousVersion ? { previousVersion: entry.previousVersion } : {}),
        message: `${request.version} already serving on ${where} for ${request.key}; nothing done`,
      };
    }
    // A proxy, or what an interrupted canary start left pending (a proxy on the service's port).
    const left = canary.read();
    if (left.proxy || (left.pending?.length ?? 0) > 0) {
      touched.started = true;
      await canary.dismantle();
    }
    return start(action, request, touched);
  }

  const guarded = (action: DeployAction, request: DeployRequest) =>
    serial(() => {
      const touched = { started: false };
      return route(action, request, touched).catch(
        (e: unknown): DeployResult => thrown(action, request.version, e, options.redact, touched.started),
      );
    });

  return {
    name: "local-process",

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      const current = running();
      if (!current) {
        const recorded = processes.read();
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

    canary: {
      shift: (request) =>
        serial(() =>
          canary.shift(request).catch(
            (e: unknown): ShiftResult => ({
              ok: false,
              weight: request.weight,
              message: `shift of ${request.version} failed: ${options.redact((e as Error).message)}`,
            }),
          ),
        ),
      targets: async () => canary.targets(),
    },

    async markGood(version: string) {
      await store.markGood(version);
    },

    stop: () =>
      serial(async () => {
        await canary.dismantle();
        const current = running();
        if (current) await stopGroup(current.pid);
        processes.write(undefined);
        if ((await store.read()).current !== undefined) await store.setCurrent(null);
      }),
  };
}
