/**
 * The command provider: the team's own deploy, rollback, status and version commands, the way
 * to drive any platform (see docs/providers.md for Vercel, Kubernetes and Fly recipes).
 *
 * deploy(version): when `version` prints the target already and `status` passes, nothing is
 * run (replayed). Otherwise `deploy` runs (with the spec's timeout), then `status` and
 * `version` are checked until they pass or the timeout is spent. Every output line is
 * redacted, then handed to onLine. The provider state (options.state, in Postgres) keeps what
 * serves, the last known good version and one entry per real deploy or rollback; the local
 * folder only tracks a running deploy or rollback command, so that a gantry that died while
 * it ran has it ended before it runs again.
 */
import path from "node:path";
import type * as z from "zod";
import { type CommandResult, runCommand } from "../exec/command.js";
import type { Deploy } from "../runbook/schema/flow.js";
import type { DeployAction, DeployEntry } from "../store/provider-state-store.js";
import { durationText, effectiveTimeout, ranNothing, sameVersion, sleep, thrown } from "./state.js";
import type {
  DeployRequest,
  DeployResult,
  Provider,
  ProviderOptions,
  ProviderStatus,
  ShiftRequest,
  ShiftResult,
} from "./types.js";

export type CommandSpec = Extract<z.output<typeof Deploy>, { provider: "command" }>;

/** Output lines kept for a result. */
const KEEP_LINES = 20;
/** Pause between status/version checks after a deploy. */
const CHECK_INTERVAL_MS = 500;
/** status and version get at least this long each, and at most the spec's timeout. */
const CHECK_MIN_MS = 5000;
const CHECK_MAX_MS = 60_000;

type Step = "deploy" | "rollback" | "status" | "version" | "shift";

const percent = (weight: number) => `${Math.round(weight * 1000) / 10}%`;

export function createCommandProvider(spec: CommandSpec, options: ProviderOptions): Provider {
  const store = options.state;
  const checkTimeout = Math.min(spec.timeout.ms, CHECK_MAX_MS);

  /** Runs one rendered command; its redacted lines go to onLine and into `lines`. */
  function run(
    template: string,
    values: { version: string; previousVersion?: string; weight?: number },
    timeoutMs: number,
    lines: string[],
    signal?: AbortSignal,
    attempt?: string,
  ): Promise<CommandResult> {
    return runCommand(options.render(template, values), {
      cwd: options.cwd,
      // A deploy or rollback left running by a gantry that died is ended before it runs again.
      ...(attempt ? { track: { dir: path.join(options.localDir, "attempts"), key: attempt } } : {}),
      ...(options.env ? { env: options.env } : {}),
      timeoutMs,
      ...(signal ? { signal } : {}),
      onLine: (raw) => {
        const line = options.redact(raw);
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
        options.onLine?.(line);
      },
    });
  }

  /** Why a command did not succeed, in one line; undefined when it exited 0. */
  function failure(step: Step, result: CommandResult, timeoutMs: number): string | undefined {
    if (result.timedOut) return `${step} command timed out after ${durationText(timeoutMs)}`;
    if (result.aborted) return `${step} command was stopped`;
    if (result.problem) return `${step} command failed: ${result.problem}`;
    if (result.exitCode === 0) return undefined;
    const last = result.output.at(-1)?.trim();
    return `${step} command failed with exit ${result.exitCode ?? "?"}${last ? ` (last output: ${JSON.stringify(options.redact(last))})` : ""}`;
  }

  /** What `version` prints, trimmed; undefined when it is not declared or fails. `target` fills {{ release.version }}. */
  async function printedVersion(target: string, lines: string[], signal?: AbortSignal) {
    if (!spec.version) return { version: undefined, problem: undefined };
    const result = await run(spec.version, { version: target }, checkTimeout, lines, signal);
    const problem = failure("version", result, checkTimeout);
    const version = problem ? undefined : options.redact(result.stdout.trim().split("\n")[0] ?? "");
    return { version, problem };
  }

  async function statusProblem(version: string, lines: string[], timeoutMs: number, signal?: AbortSignal) {
    if (!spec.status) return undefined;
    const result = await run(spec.status, { version }, timeoutMs, lines, signal);
    return failure("status", result, timeoutMs);
  }

  /** Checks status and version once: undefined when `target` serves and is healthy, else why not. */
  async function check(target: string, timeoutMs: number, lines: string[], signal?: AbortSignal) {
    const status = await statusProblem(target, lines, timeoutMs, signal);
    if (status) return status;
    const printed = await printedVersion(target, lines, signal);
    if (printed.problem) return printed.problem;
    if (spec.version && !sameVersion(printed.version, target)) {
      return `version command prints ${JSON.stringify(printed.version)}, not ${target}`;
    }
    return undefined;
  }

  /** `touched`: set once the call has run the deploy or rollback command (for a call that throws). */
  async function release(
    action: Exclude<DeployAction, "shift">,
    request: DeployRequest,
    touched: { started: boolean },
  ): Promise<DeployResult> {
    const { version, key, signal } = request;
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const started = Date.now();
    const lines: string[] = [];
    const state = await store.read();
    const entry = await store.entry(key);

    // Already serving? With a version command it says; without one, this key's record does.
    const printed = await printedVersion(version, lines, signal);
    const current = printed.version ?? state.current;
    // A canary started by this key serves beside the stable version: its record says so. A
    // rollback while a canary serves must run even though the stable version still prints.
    const canaryStart = request.weight !== undefined && request.weight < 1;
    const canaryLive = action === "rollback" && (await canaryServing(state.latest));
    const alreadyServing = canaryStart
      ? entry?.result === "ok" && entry.version === version
      : canaryLive
        ? entry?.result === "ok" && entry.version === version
        : spec.version
          ? sameVersion(printed.version, version)
          : entry?.result === "ok" && entry.version === version && sameVersion(state.current, version);
    if (alreadyServing && (canaryStart || !(await statusProblem(version, lines, checkTimeout, signal)))) {
      // An earlier call for this key ran the command but did not see it through: it did work.
      if (entry?.result === "in-progress" && entry.version === version) {
        await store.finish(
          key,
          "ok",
          `${version} found serving and healthy when the key was replayed`,
          version,
        );
      }
      return {
        ok: true,
        started: true,
        replayed: true,
        version,
        ...(entry?.previousVersion ? { previousVersion: entry.previousVersion } : {}),
        message: `${version} already serving and healthy; nothing ${action === "deploy" ? "deployed" : "rolled back"}`,
        output: lines,
      };
    }

    const previousVersion = canaryLive
      ? state.latest?.version
      : current && !sameVersion(current, version)
        ? current
        : undefined;
    const values =
      action === "deploy"
        ? { version, ...(previousVersion ? { previousVersion } : {}) }
        : { version: previousVersion ?? current ?? version, previousVersion: version };
    await store.begin({ key, version, action, ...(previousVersion ? { previousVersion } : {}) });
    const fail = async (message: string, changed = true): Promise<DeployResult> => {
      await store.finish(key, "failed", message);
      return { ok: false, started: changed, previousVersion, message, output: lines };
    };

    const template = action === "deploy" ? spec.deploy : spec.rollback;
    touched.started = true;
    const from = lines.length;
    const result = await run(template, values, timeoutMs, lines, signal, `${action}:${key}`);
    const problem = failure(action, result, timeoutMs);
    if (problem) {
      // Not a single line of it ran (no shell, or its first command does not exist): nothing changed.
      const nothing =
        (result.problem !== undefined &&
          result.exitCode === undefined &&
          !result.timedOut &&
          !result.aborted) ||
        ranNothing(options.render(template, values), result.exitCode, lines.slice(from));
      // An earlier attempt with this key may have run it: then something may have changed.
      return fail(problem, !nothing || entry !== undefined);
    }

    if (canaryStart) {
      await store.setDetails(version, { canaryWeight: request.weight });
      const shifted = await run(
        spec.shift ?? "",
        { ...values, weight: request.weight! },
        timeoutMs,
        lines,
        signal,
        `shift:${key}`,
      );
      const shiftProblem = failure("shift", shifted, timeoutMs);
      if (shiftProblem) return fail(`deployed ${version}, but ${shiftProblem}`);
    }

    // The command succeeded; wait for status and version to agree, within the same timeout.
    const deadline = started + timeoutMs;
    // A canary serves beside the stable version: its status must pass, the version printed is the stable one's.
    const checkOnce = async () => {
      const ms = Math.max(CHECK_MIN_MS, Math.min(checkTimeout, deadline - Date.now()));
      return canaryStart ? statusProblem(version, lines, ms, signal) : check(version, ms, lines, signal);
    };
    let last = await checkOnce();
    while (last && !signal?.aborted && Date.now() + CHECK_INTERVAL_MS < deadline) {
      await sleep(CHECK_INTERVAL_MS, signal);
      last = await checkOnce();
    }
    const verb = action === "deploy" ? `deployed ${version}` : `rolled back to ${version}`;
    if (last) return fail(`${verb}, but the checks did not pass within ${durationText(timeoutMs)}: ${last}`);

    const share = canaryStart ? ` with ${percent(request.weight!)} of traffic` : "";
    const message = `${verb}${share} in ${durationText(Date.now() - started)}${previousVersion ? ` (was ${previousVersion})` : ""}`;
    await store.finish(key, "ok", message, canaryStart ? undefined : version);
    if (action === "rollback" && canaryLive && state.latest) await store.setDetails(state.latest.version, {});
    return { ok: true, started: true, version, previousVersion, message, output: lines };
  }

  /** Whether the latest entry left a canary serving beside the stable version. */
  async function canaryServing(latest: DeployEntry | undefined): Promise<boolean> {
    if (latest?.result !== "ok" || latest.action === "rollback") return false;
    const weight = (await store.details(latest.version))?.canaryWeight;
    return typeof weight === "number" && weight < 1;
  }

  /** Moves the canary's share with the `shift` command; at 1, status and version must agree. */
  async function shift(request: ShiftRequest): Promise<ShiftResult> {
    const { version, key, weight, signal } = request;
    const lines: string[] = [];
    const entry = await store.entry(key);
    if (entry?.result === "ok" && entry.version === version) {
      return {
        ok: true,
        weight,
        replayed: true,
        message: `${percent(weight)} already on ${version}; not shifted again`,
      };
    }
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const stable = (await store.read()).current;
    await store.begin({ key, version, action: "shift", ...(stable ? { previousVersion: stable } : {}) });
    const values = { version, ...(stable ? { previousVersion: stable } : {}), weight };
    const result = await run(spec.shift ?? "", values, timeoutMs, lines, signal, `shift:${key}`);
    let problem = failure("shift", result, timeoutMs);
    if (!problem && weight >= 1) {
      const deadline = Date.now() + timeoutMs;
      problem = await check(version, checkTimeout, lines, signal);
      while (problem && !signal?.aborted && Date.now() + CHECK_INTERVAL_MS < deadline) {
        await sleep(CHECK_INTERVAL_MS, signal);
        problem = await check(version, checkTimeout, lines, signal);
      }
    }
    if (problem) {
      await store.finish(key, "failed", problem);
      return { ok: false, weight, message: problem, output: lines };
    }
    await store.setDetails(version, { canaryWeight: weight });
    const message =
      weight >= 1 ? `${version} promoted: all traffic` : `${percent(weight)} of traffic on ${version}`;
    await store.finish(key, "ok", message, weight >= 1 ? version : undefined);
    return { ok: true, weight, message, output: lines };
  }

  const guarded = (action: Exclude<DeployAction, "shift">, request: DeployRequest) => {
    const touched = { started: false };
    return release(action, request, touched).catch(
      (e: unknown): DeployResult => thrown(action, request.version, e, options.redact, touched.started),
    );
  };

  return {
    name: "command",

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      const lines: string[] = [];
      const state = await store.read();
      const recorded = state.current ?? "";
      const printed = await printedVersion(recorded, lines, signal);
      const version = printed.version ?? (spec.version ? undefined : state.current);
      const label = version ?? "unknown version";
      if (!spec.status) {
        const lastEntry = state.latest;
        const healthy = !printed.problem && lastEntry?.result === "ok";
        return {
          ...(version ? { version } : {}),
          healthy,
          message: `${label}: no status command, ${healthy ? "the last deploy succeeded" : (printed.problem ?? "no successful deploy recorded")}`,
        };
      }
      const problem = await statusProblem(version ?? recorded, lines, checkTimeout, signal);
      return {
        ...(version ? { version } : {}),
        healthy: !problem,
        message: problem ? `${label} unhealthy: ${problem}` : `${label} healthy`,
      };
    },

    async lastKnownGood() {
      return store.lastKnownGood();
    },

    ...(spec.shift
      ? {
          canary: {
            shift: (request: ShiftRequest) =>
              shift(request).catch(
                (e: unknown): ShiftResult => ({
                  ok: false,
                  weight: request.weight,
                  message: `shift to ${percent(request.weight)} failed: ${options.redact((e as Error).message ?? String(e))}`,
                }),
              ),
          },
        }
      : {}),
    deploy: (request) => guarded("deploy", request),
    rollback: (request) => guarded("rollback", request),

    async markGood(version: string) {
      await store.markGood(version);
    },

    async stop() {},
  };
}
