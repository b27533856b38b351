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
import type { DeployAction } from "../store/provider-state-store.js";
import { durationText, effectiveTimeout, ranNothing, sameVersion, sleep, thrown } from "./state.js";
import type { DeployRequest, DeployResult, Provider, ProviderOptions, ProviderStatus } from "./types.js";

export type CommandSpec = Extract<z.output<typeof Deploy>, { provider: "command" }>;

/** Output lines kept for a result. */
const KEEP_LINES = 20;
/** Pause between status/version checks after a deploy. */
const CHECK_INTERVAL_MS = 500;
/** status and version get at least this long each, and at most the spec's timeout. */
const CHECK_MIN_MS = 5000;
const CHECK_MAX_MS = 60_000;

type Step = "deploy" | "rollback" | "status" | "version";

export function createCommandProvider(spec: CommandSpec, options: ProviderOptions): Provider {
  const store = options.state;
  const checkTimeout = Math.min(spec.timeout.ms, CHECK_MAX_MS);

  /** Runs one rendered command; its redacted lines go to onLine and into `lines`. */
  function run(
    template: string,
    values: { version: string; previousVersion?: string },
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
    const alreadyServing = spec.version
      ? sameVersion(printed.version, version)
      : entry?.result === "ok" && entry.version === version && sameVersion(state.current, version);
    if (alreadyServing && !(await statusProblem(version, lines, checkTimeout, signal))) {
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

    const previousVersion = current && !sameVersion(current, version) ? current : undefined;
    const values =
      action === "deploy"
        ? { version, ...(previousVersion ? { previousVersion } : {}) }
        : { version: current ?? version, previousVersion: version };
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

    // The command succeeded; wait for status and version to agree, within the same timeout.
    const deadline = started + timeoutMs;
    const checkOnce = () =>
      check(version, Math.max(CHECK_MIN_MS, Math.min(checkTimeout, deadline - Date.now())), lines, signal);
    let last = await checkOnce();
    while (last && !signal?.aborted && Date.now() + CHECK_INTERVAL_MS < deadline) {
      await sleep(CHECK_INTERVAL_MS, signal);
      last = await checkOnce();
    }
    const verb = action === "deploy" ? `deployed ${version}` : `rolled back to ${version}`;
    if (last) return fail(`${verb}, but the checks did not pass within ${durationText(timeoutMs)}: ${last}`);

    const message = `${verb} in ${durationText(Date.now() - started)}${previousVersion ? ` (was ${previousVersion})` : ""}`;
    await store.finish(key, "ok", message, version);
    return { ok: true, started: true, version, previousVersion, message, output: lines };
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

    deploy: (request) => guarded("deploy", request),
    rollback: (request) => guarded("rollback", request),

    async markGood(version: string) {
      await store.markGood(version);
    },

    async stop() {},
  };
}
