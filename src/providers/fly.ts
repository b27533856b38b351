/**
 * The fly provider: a Fly app's Machines updated to the image of a release through the Fly
 * Machines API (fly-api.ts), one Machine at a time (a rolling deploy), without flyctl.
 *
 * deploy(version) lists the app's Machines, and for each (in id order), when its config does
 * not have the release's image yet, posts its whole config back with the new image and, in
 * its metadata, gantry_key (the idempotency key), gantry_version and gantry_image; then waits
 * for it (the API's wait for `started` on the new instance_id) and for every health check
 * its config declares to report `passing`, before the next. A Machine that was stopped
 * (autostop) is updated without being started and only waited for to be `stopped` again. A
 * Machine that does not start, or whose checks do not pass, before the deadline stops the
 * rollout there: the others keep what they ran, and the deploy fails naming the Machine and
 * its checks. The image is recorded as the version's details (with the digest Fly resolved),
 * so that rollback(version) updates the Machines back to exactly that image.
 *
 * Idempotency: the state entry of the key, and the Machines' own configs. A replay finds the
 * Machines on the image and says so without posting anything; a replay of a call that died
 * midway carries on from the Machines that do not have the image yet.
 *
 * Canary by Machine ratio: deploy({ weight }) updates round(weight × N) Machines (at least 1,
 * at most N − 1) of the N; shift moves Machines to the canary image (or back to the stable
 * one); shift to 1 updates the rest. Fly's proxy balances requests across the started Machines
 * whose checks pass, so the share of Machines is the share of traffic (see docs/providers.md).
 */
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import type { DeployAction } from "../store/provider-state-store.js";
import { type FlyClient, FlyError, type FlyMachine, flyClient } from "./fly-api.js";
import {
  canaryCount,
  checksOf,
  fleetStatus,
  IDLE,
  MOVING,
  majority,
  percent,
  pick,
  settled,
} from "./fly-fleet.js";
import {
  defaultImage,
  META_IMAGE,
  META_KEY,
  META_VERSION,
  machineVersion,
  renderImage,
  templateFrame,
} from "./fly-image.js";
import { durationText, effectiveTimeout, sleep, thrown } from "./state.js";
import type {
  DeployRequest,
  DeployResult,
  Provider,
  ProviderOptions,
  ProviderStatus,
  ShiftRequest,
  ShiftResult,
} from "./types.js";

export { canaryCount } from "./fly-fleet.js";

export type FlySpec = Extract<z.output<typeof Deploy>, { provider: "fly" }>;

/** status() gets this long for its questions. */
const STATUS_MS = 15_000;
/** After the deadline, one last look at a Machine, to say what state it is in, gets this long. */
const DIAGNOSE_MS = 2000;
const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 1000;
const KEEP_LINES = 50;
/** Posts of one Machine's update, when the answers are lost and it is read back unchanged. */
const UPDATE_ATTEMPTS = 3;
/** One Machine to bring to an image. */
interface Move {
  id: string;
  image: string;
  version: string;
}

/** One deploy, rollback or shift: its deadline, its client, its output, what it changed. */
interface Run {
  api: FlyClient;
  deadline: number;
  timeoutMs: number;
  signal?: AbortSignal;
  lines: string[];
  say(line: string): void;
  /** The idempotency key, written into the Machines' metadata. */
  key: string;
  /** Set once this call has updated a Machine (or an earlier call with the key may have). */
  touched: { started: boolean };
  /** Machines this call updated. */
  updated: number;
  fleet: Map<string, FlyMachine>;
}

type Outcome = { ok: true } | { ok: false; message: string; aborted?: boolean };

export function createFlyProvider(spec: FlySpec, options: ProviderOptions): Provider {
  const store = options.state;
  const template = spec.image ?? defaultImage(spec.app);
  let token: string | undefined;
  /** The token, resolved once (it throws a message naming deploy.token when unset). */
  const tokenOf = () => {
    token ??= options.field(spec.token, "deploy.token");
    return token;
  };
  const redact = (text: string) =>
    options.redact(token && token.length >= 4 ? text.replaceAll(token, "[redacted]") : text);
  const client = (deadline: number, signal?: AbortSignal) =>
    flyClient({ base: spec.api, token: tokenOf(), app: spec.app, deadline, ...(signal ? { signal } : {}) });
  const imageOf = (version: string) => renderImage(options.text, template, version);
  let frame: [string, string] | undefined | null = null;
  const versionOf = (m: FlyMachine) => {
    if (frame === null) frame = templateFrame(options.text, template);
    return machineVersion(m, frame);
  };

  // One deploy, rollback or shift at a time: two rollouts of one app would fight over its Machines.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };

  function newRun(
    request: { key: string; timeoutMs: number; signal?: AbortSignal },
    touched: { started: boolean },
  ): Run {
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const signal = request.signal;
    const deadline = Date.now() + timeoutMs;
    const lines: string[] = [];
    return {
      key: request.key,
      touched,
      api: client(deadline, signal),
      deadline,
      timeoutMs,
      ...(signal ? { signal } : {}),
      lines,
      say(raw) {
        const line = redact(raw);
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
        options.onLine?.(line);
      },
      updated: 0,
      fleet: new Map(),
    };
  }

  async function listInto(run: Run): Promise<FlyMachine[]> {
    const machines = (await run.api.list()).sort((a, b) => a.id.localeCompare(b.id));
    for (const m of machines) run.fleet.set(m.id, m);
    return machines;
  }

  /** Brings each Machine of `moves` to its image, in order, each serving before the next. */
  async function converge(run: Run, moves: Move[]): Promise<Outcome> {
    for (const move of moves) {
      let m = run.fleet.get(move.id)!;
      let fresh = false;
      const idle = IDLE.has(m.state);
      try {
        if (m.config.image !== move.image) {
          const where = m.name ? ` (${m.name}${m.region ? `, ${m.region}` : ""})` : "";
          run.say(`updating machine ${m.id}${where} to ${move.image}${idle ? `, left ${m.state}` : ""}`);
          m = await update(run, m, move, idle);
          fresh = true;
        }
        const problem = await ready(run, m, fresh ? (idle ? "stopped" : "started") : undefined);
        if (problem) {
          const done = [...run.fleet.values()].filter((x) => x.config.image === move.image).length;
          return {
            ok: false,
            message: `${move.version}: machine ${m.id} ${problem}; the rollout stopped there, ${done} of ${run.fleet.size} machines on ${move.image}`,
          };
        }
        run.say(`machine ${m.id} serves ${move.version}`);
      } catch (e) {
        if (!(e instanceof FlyError)) throw e;
        if (e.kind === "aborted") {
          return {
            ok: false,
            aborted: true,
            message: `stopped while bringing machine ${m.id} to ${move.version}; a retry with the same key carries on`,
          };
        }
        const what = fresh ? `machine ${m.id} was updated, then ${flyProblem(e)}` : `${flyProblem(e, m.id)}`;
        return { ok: false, message: `${move.version}: ${what}` };
      }
    }
    return { ok: true };
  }

  /** Posts the Machine's config with the image; an answer that never came is checked by reading the Machine. */
  async function update(run: Run, m: FlyMachine, move: Move, idle: boolean): Promise<FlyMachine> {
    const config = {
      ...m.config,
      image: move.image,
      metadata: {
        ...(m.config.metadata ?? {}),
        [META_KEY]: run.key,
        [META_VERSION]: move.version,
        [META_IMAGE]: move.image,
      },
    };
    let updated: FlyMachine | undefined;
    for (let attempt = 1; !updated; attempt++) {
      try {
        updated = await run.api.update(m.id, { config, ...(idle ? { skip_launch: true } : {}) });
      } catch (e) {
        if (!(e instanceof FlyError) || e.kind !== "unknown") throw e;
        // No answer, or a 5xx: it may have been applied. Read it back; post again only when it was not.
        run.touched.started = true;
        const now = await run.api.get(m.id);
        if (now.config.image === move.image) updated = now;
        else if (attempt >= UPDATE_ATTEMPTS) throw e;
      }
    }
    run.touched.started = true;
    run.updated++;
    run.fleet.set(updated.id, updated);
    return updated;
  }

  /**
   * Waits until the Machine serves: `state` (after an update of this call, through the API's
   * wait on its new instance), or whatever it settles in (one an earlier call left moving); then,
   * when started, its checks passing. Undefined when it serves, else why not.
   */
  async function ready(run: Run, m: FlyMachine, state: "started" | "stopped" | undefined) {
    const within = durationText(run.timeoutMs);
    let current = m;
    if (state) {
      try {
        while (!(await run.api.wait(m.id, m.instance_id, state))) {}
        if (state === "stopped") return undefined;
        current = await run.api.get(m.id);
        run.fleet.set(current.id, current);
      } catch (e) {
        if (!(e instanceof FlyError) || e.kind !== "timeout") throw e;
        const seen = await lastLook(m);
        const verb = state === "started" ? "start" : "stop";
        return `did not ${verb} within ${within} (${seen ? `still ${seen.state}` : "its state unknown"})`;
      }
    }
    let pause = POLL_FIRST_MS;
    for (;;) {
      if (state === undefined && IDLE.has(current.state)) return undefined;
      let why: string;
      if (current.state === "started") {
        const verdict = checksOf(current);
        if (verdict === undefined) return undefined;
        why = `started, but its checks did not pass within ${within} (${verdict})`;
      } else if (MOVING.has(current.state)) why = `did not start within ${within} (still ${current.state})`;
      else why = `is ${current.state}, not started`;
      if (Date.now() + pause >= run.deadline) return why;
      await sleep(pause, run.signal);
      if (run.signal?.aborted) throw new FlyError("stopped", "aborted");
      pause = Math.min(POLL_MAX_MS, pause * 2);
      try {
        current = await run.api.get(m.id);
        run.fleet.set(current.id, current);
      } catch (e) {
        if (e instanceof FlyError && e.kind === "timeout") return why;
        throw e;
      }
    }
  }

  /** A FlyError in words, with what to check for the usual refusals. */
  function flyProblem(e: FlyError, updating?: string): string {
    if (e.status === 401 || e.status === 403)
      return `the Fly API refused the token (${e.message}); check deploy.token`;
    if (e.status === 404) return `${e.message}; check deploy.app (${spec.app}) and the token's organization`;
    if (updating && e.kind === "refused")
      return `the Fly API refused to update machine ${updating}: ${e.message}`;
    return e.message;
  }

  /** One more read of a Machine after the deadline, to say what state it is in. */
  async function lastLook(m: FlyMachine): Promise<FlyMachine | undefined> {
    try {
      return await client(Date.now() + DIAGNOSE_MS).get(m.id);
    } catch {
      return undefined;
    }
  }

  /** The version's details: the app, the image and the digest Fly resolved it to (read off `machines`). */
  async function recordDetails(machines: FlyMachine[], version: string, image: string) {
    const on = machines.filter((m) => m.config.image === image);
    const digest = on.map((m) => m.image_ref?.digest).find((d) => typeof d === "string" && d !== "");
    await store.setDetails(version, { app: spec.app, image, ...(digest ? { digest } : {}) });
  }

  /**
   * The common course of a deploy, rollback and shift: nothing to do (a replay, or already so),
   * else record, converge, record the end. `moves` are the Machines and images wanted.
   */
  async function carryOut(
    run: Run,
    action: DeployAction,
    request: { version: string; key: string },
    moves: Move[],
    previousVersion: string | undefined,
    words: (ok: boolean) => string,
  ): Promise<{ ok: boolean; replayed?: boolean; message: string }> {
    const { version, key } = request;
    const entry = await store.entry(key);
    const same = entry !== undefined && entry.version === version && entry.action === action;
    const wanted = moves.every((mv) => {
      const m = run.fleet.get(mv.id)!;
      return m.config.image === mv.image && settled(m);
    });
    const serving = () => majority([...run.fleet.values()], versionOf, version);
    if (wanted) {
      const message = words(true);
      if (same && entry.result === "ok")
        return { ok: true, replayed: true, message: `${message}; done earlier for ${key}` };
      if (same && entry.result === "in-progress") {
        await store.finish(key, "ok", redact(message), serving());
        return { ok: true, replayed: true, message: `${message}; done earlier for ${key}` };
      }
      await store.begin({ key, version, action, ...(previousVersion ? { previousVersion } : {}) });
      await store.finish(key, "ok", redact(`${message}; nothing updated`), serving());
      return { ok: true, message: `${message}; nothing updated` };
    }
    if (!(same && entry.result === "in-progress"))
      await store.begin({ key, version, action, ...(previousVersion ? { previousVersion } : {}) });
    const outcome = await converge(run, moves);
    if (!outcome.ok) {
      // Stopped (aborted): the entry stays in progress, for a retry with the key to carry on.
      if (!outcome.aborted) await store.finish(key, "failed", redact(outcome.message), serving());
      return { ok: false, message: outcome.message };
    }
    const message = words(false);
    await store.finish(key, "ok", redact(message), serving());
    // An earlier call with the key had updated every Machine; this one only saw them through.
    return same && run.updated === 0
      ? { ok: true, replayed: true, message: `${message}; updated earlier for ${key}` }
      : { ok: true, message };
  }

  async function release(
    action: "deploy" | "rollback",
    request: DeployRequest,
    touched: { started: boolean },
  ): Promise<DeployResult> {
    const { version, key } = request;
    const started = Date.now();
    const earlier = await store.entry(key);
    // An earlier call with this key got as far as recording itself: it may have updated Machines.
    touched.started = earlier !== undefined;
    const run = newRun(request, touched);
    const recorded = action === "rollback" ? (await store.details(version))?.image : undefined;
    const image = typeof recorded === "string" && recorded !== "" ? recorded : imageOf(version);
    const machines = await listInto(run);
    const refuse = (message: string): DeployResult => ({ ok: false, started: touched.started, message });
    const n = machines.length;
    if (n === 0)
      return refuse(`app ${spec.app} has no machines; create them first (fly deploy, or fly machine run)`);
    const weight = action === "deploy" ? request.weight : undefined;
    if (weight !== undefined && n < 2)
      return refuse(`a canary needs at least 2 machines and app ${spec.app} has 1 (fly scale count 2)`);
    const want = weight === undefined ? n : canaryCount(weight, n);
    const before = majority(machines, versionOf);
    const previousVersion =
      (earlier?.version === version && earlier.action === action ? earlier.previousVersion : undefined) ??
      (before !== undefined && before !== version ? before : undefined);
    if (action === "deploy" && previousVersion && !(await store.details(previousVersion))) {
      // What served before Gantry's first deploy here: its exact image, for a rollback to it.
      const was = machines.find((m) => versionOf(m) === previousVersion);
      if (was) await recordDetails([was], previousVersion, was.config.image);
    }
    const all = n === 1 ? "the one machine" : `all ${n} machines`;
    const words = (already: boolean) => {
      const took = durationText(Date.now() - started);
      if (weight !== undefined) {
        const k = [...run.fleet.values()].filter((m) => m.config.image === image).length;
        return `canary ${version} on ${k} of ${n} machines (${percent(k / n)})${already ? " already" : ` in ${took}`}, ${previousVersion ?? "the rest"} on ${n - k}`;
      }
      if (already) return `${version} already on ${all} of ${spec.app}, serving`;
      const verb = action === "deploy" ? "deployed" : "rolled back to";
      return `${verb} ${version} on ${all} of ${spec.app} in ${took}${previousVersion ? ` (was ${previousVersion})` : ""}`;
    };
    if (weight !== undefined) regionsWarning(run, machines);
    const moves = pick(machines, image, want).map((m) => ({ id: m.id, image, version }));
    const result = await carryOut(run, action, request, moves, previousVersion, words);
    if (result.ok && weight === undefined) await recordDetails([...run.fleet.values()], version, image);
    return {
      ok: result.ok,
      started: result.ok || touched.started,
      ...(result.ok ? { version } : {}),
      ...(previousVersion ? { previousVersion } : {}),
      message: redact(result.message),
      ...(result.replayed ? { replayed: true } : {}),
      output: run.lines,
    };
  }

  async function shift(request: ShiftRequest, run: Run): Promise<ShiftResult> {
    const { version, weight } = request;
    const image = imageOf(version);
    const machines = await listInto(run);
    const n = machines.length;
    const canary = machines.filter((m) => m.config.image === image);
    if (canary.length === 0) {
      const message = `no machine of ${spec.app} runs ${version} (${image}); start the canary with a deploy first`;
      return { ok: false, weight: 0, message };
    }
    const want = canaryCount(weight, n);
    if (want < n) regionsWarning(run, machines);
    const rest = machines.filter((m) => m.config.image !== image);
    const stableVersion = majority(rest, versionOf) ?? (await store.lastKnownGood());
    let moves = pick(machines, image, want).map((m) => ({ id: m.id, image, version }));
    if (want < canary.length) {
      // Fewer Machines on the canary: the last ones go back to the stable image.
      const recorded = stableVersion ? (await store.details(stableVersion))?.image : undefined;
      const stable = rest.find((m) => versionOf(m) === stableVersion)?.config.image ?? recorded;
      if (typeof stable !== "string" || !stableVersion) {
        const message = `cannot tell which image to move machines of ${spec.app} back to (no stable version known)`;
        return { ok: false, weight: shareOf(run, image), message };
      }
      moves = [
        ...canary.slice(0, want).map((m) => ({ id: m.id, image, version })),
        ...canary.slice(want).map((m) => ({ id: m.id, image: stable, version: stableVersion })),
      ];
    }
    const words = (already: boolean) => {
      const k = Math.round(shareOf(run, image) * n);
      const head =
        k === n
          ? `promoted ${version}: all ${n} machines`
          : `${version} on ${k} of ${n} machines (${percent(k / n)}), ${stableVersion ?? "the stable version"} on ${n - k}`;
      return already ? `${head} already` : head;
    };
    const result = await carryOut(run, "shift", request, moves, stableVersion, words);
    if (result.ok && want === n) await recordDetails([...run.fleet.values()], version, image);
    return {
      ok: result.ok,
      weight: shareOf(run, image),
      message: redact(result.message),
      ...(result.replayed ? { replayed: true } : {}),
      output: run.lines,
    };
  }

  const guarded = (action: "deploy" | "rollback", request: DeployRequest) =>
    serial(() => {
      const touched = { started: false };
      return release(action, request, touched).catch((e: unknown): DeployResult => {
        const failed = thrown(action, request.version, e, redact, touched.started);
        return e instanceof FlyError
          ? { ...failed, message: redact(`${action} of ${request.version} failed: ${flyProblem(e)}`) }
          : failed;
      });
    });

  return {
    name: "fly",

    canary: {
      shift: (request) =>
        serial(async () => {
          const run = newRun(request, { started: false });
          try {
            return await shift(request, run);
          } catch (e) {
            const why = e instanceof FlyError ? flyProblem(e) : ((e as Error).message ?? String(e));
            const image = run.fleet.size > 0 ? imageOf(request.version) : undefined;
            return {
              ok: false,
              weight: image ? shareOf(run, image) : 0,
              message: redact(`shift of ${request.version} to ${percent(request.weight)} failed: ${why}`),
              output: run.lines,
            };
          }
        }),
    },

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      let machines: FlyMachine[];
      try {
        machines = await client(Date.now() + STATUS_MS, signal).list();
      } catch (e) {
        return {
          healthy: false,
          message: redact(`cannot read the machines of ${spec.app}: ${(e as Error).message}`),
        };
      }
      if (machines.length === 0) return { healthy: false, message: `app ${spec.app} has no machines` };
      const found = fleetStatus(machines, versionOf);
      return { ...found, message: redact(found.message) };
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

/**
 * Fly's proxy sends a request to the closest region, and across regions only when every Machine
 * there is unhealthy or full: with Machines in several regions the canary's share of traffic is
 * its share of its own region's Machines, not of all of them. Said once per call.
 */
function regionsWarning(run: Run, machines: FlyMachine[]): void {
  const regions = [...new Set(machines.map((m) => m.region).filter((r): r is string => !!r))].sort();
  if (regions.length > 1)
    run.say(
      `note: the machines are in ${regions.length} regions (${regions.join(", ")}); Fly's proxy routes each request to the closest region, so the canary's share of traffic differs by region`,
    );
}

/** The share of the Machines of the run's fleet on `image`. */
function shareOf(run: Run, image: string): number {
  const all = [...run.fleet.values()];
  return all.length === 0 ? 0 : all.filter((m) => m.config.image === image).length / all.length;
}
