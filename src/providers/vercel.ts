/**
 * The vercel provider: the release's deployment, found (source: prebuilt, by a meta key naming
 * the version) or created from the release's git ref (source: git, POST /v13/deployments),
 * waited for until its readyState is READY, then the production alias pointed at it
 * (POST /v2/deployments/{id}/aliases). A rollback points the alias back at the deployment
 * recorded for the last known good version. status() asks the alias which deployment it
 * serves (GET /v4/aliases/{alias}) and that deployment's readyState. The API: vercel-api.ts.
 *
 * Idempotent for a key: a deployment Gantry creates carries meta.gantryKey (the step's key)
 * and meta.gantryVersion, and is looked up by that key before another is created, so a step
 * replayed after a crash resumes the build it started rather than starting a second one; an
 * alias already pointing at the deployment is not assigned again. The deployment of each
 * version is recorded with the provider state's version details (`deploymentId`), which is
 * what a rollback re-aliases.
 *
 * No canary: Vercel's API has no weighted split for an alias (see canaryProblem in index.ts).
 *
 * Templates in its fields are filled as plain text (`options.text`).
 */
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import type { DeployAction, DeployState } from "../store/provider-state-store.js";
import { durationText, effectiveTimeout, sameVersion, sleep, thrown } from "./state.js";
import type { DeployRequest, DeployResult, Provider, ProviderOptions, ProviderStatus } from "./types.js";
import { VercelClient, type VercelDeployment, VercelError } from "./vercel-api.js";
import { forTarget, gitSource } from "./vercel-fields.js";

export type VercelSpec = Extract<z.output<typeof Deploy>, { provider: "vercel" }>;

/** Output lines kept for a result. */
const KEEP_LINES = 20;
/** Polling a build: the first pause, growing by half each time up to the last. */
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 5000;
/** status() and the cancel of a build that timed out get this long. */
const STATUS_MS = 15_000;
const CANCEL_MS = 5000;

const FAILED = new Set(["ERROR", "CANCELED"]);

interface Serving {
  deploymentId?: string;
  readyState?: string;
  url?: string;
  version?: string;
}

export function createVercelProvider(spec: VercelSpec, options: ProviderOptions): Provider {
  const store = options.state;

  /** A string field filled for `version`. */
  const text = (template: string, version: string) => options.text(template, { version }).trim();

  /** The client, project and alias for a call about `version`; throws when the token cannot be resolved. */
  function context(version: string, say: (line: string) => void) {
    const scope = spec.scope ? text(spec.scope, version) : undefined;
    const client = new VercelClient({
      api: text(spec.api, version),
      token: options.field(spec.token, "deploy.token"),
      ...(scope ? { scope } : {}),
      onLine: say,
    });
    return { client, project: text(spec.project, version), alias: text(spec.alias, version), version };
  }
  type Context = ReturnType<typeof context>;

  /** A deployment's version: the one recorded for its id, else its meta (gantryVersion, then versionMeta). */
  async function versionOf(d: VercelDeployment, state: DeployState): Promise<string | undefined> {
    if (state.current && (await store.details(state.current))?.deploymentId === d.id) return state.current;
    const raw = d.meta.gantryVersion ?? d.meta[spec.versionMeta];
    return raw?.trim().replace(/^v(?=\d)/, "") || undefined;
  }

  /** What the alias serves now: nothing (not assigned), or a deployment, its state and version. */
  async function serving(ctx: Context, state: DeployState, deadline: number, signal?: AbortSignal) {
    const alias = await ctx.client.getAlias(ctx.alias, deadline, signal);
    if (!alias?.deploymentId) return {} as Serving;
    let d: VercelDeployment;
    try {
      d = await ctx.client.getDeployment(alias.deploymentId, deadline, signal);
    } catch (e) {
      if (e instanceof VercelError && e.status === 404)
        return { deploymentId: alias.deploymentId, readyState: "DELETED" } as Serving;
      throw e;
    }
    const version = await versionOf(d, state);
    return {
      deploymentId: d.id,
      readyState: d.readyState,
      ...(d.url ? { url: d.url } : {}),
      ...(version ? { version } : {}),
    } as Serving;
  }

  /** The project's newest deployment of `version` for the target, a READY one before any other. */
  async function byVersion(ctx: Context, deadline: number, signal?: AbortSignal) {
    const target = text(spec.target, ctx.version);
    let other: VercelDeployment | undefined;
    const ready = await ctx.client.findDeployment(
      ctx.project,
      (d) => {
        const named = d.meta[spec.versionMeta] ?? d.meta.gantryVersion;
        if (!sameVersion(named, ctx.version) || !forTarget(d, target)) return false;
        if (d.readyState === "READY") return true;
        other ??= d;
        return false;
      },
      deadline,
      signal,
    );
    return ready ?? other;
  }

  /** The body of POST /v13/deployments for a git build of `ctx.version`. */
  function createBody(ctx: Context, key: string) {
    const git = spec.git!;
    const fill = (t: string) => text(t, ctx.version);
    const { source, from } = gitSource(
      git.provider,
      fill(git.repo),
      fill(git.ref),
      git.sha ? fill(git.sha) : "",
    );
    const target = fill(spec.target);
    return {
      body: {
        name: ctx.project,
        project: ctx.project,
        ...(target && target !== "preview" ? { target } : {}),
        gitSource: source,
        meta: { gantryKey: key, gantryVersion: ctx.version },
      },
      from,
    };
  }

  /** Polls until the deployment is READY, failed, or the deadline passes. */
  async function untilReady(
    ctx: Context,
    first: VercelDeployment,
    deadline: number,
    signal: AbortSignal | undefined,
    say: (line: string) => void,
  ): Promise<VercelDeployment> {
    let d = first;
    let pause = POLL_FIRST_MS;
    let last = d.readyState;
    while (d.readyState !== "READY" && !FAILED.has(d.readyState) && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(pause, left), signal);
      if (signal?.aborted) break;
      pause = Math.min(POLL_MAX_MS, Math.round(pause * 1.5));
      d = await ctx.client.getDeployment(d.id, deadline, signal);
      if (d.readyState !== last) say(`deployment ${d.id}: ${d.readyState}`);
      last = d.readyState;
    }
    return d;
  }

  /** Points the alias at `id` unless it does already; then reads it back. */
  async function pointAlias(
    ctx: Context,
    id: string,
    before: Serving,
    deadline: number,
    signal: AbortSignal | undefined,
    touched: { started: boolean },
  ): Promise<string | undefined> {
    if (before.deploymentId !== id) {
      const was = touched.started;
      touched.started = true;
      try {
        await ctx.client.assignAlias(id, ctx.alias, deadline, signal);
      } catch (e) {
        // Vercel said no: the alias was not moved.
        if (e instanceof VercelError && e.status < 500 && e.status !== 429) touched.started = was;
        throw e;
      }
    }
    const after = await ctx.client.getAlias(ctx.alias, deadline, signal);
    if (after?.deploymentId !== id)
      return `alias ${ctx.alias} points at ${after?.deploymentId ?? "nothing"} after it was assigned ${id}`;
    return undefined;
  }

  async function release(
    action: Exclude<DeployAction, "shift">,
    request: DeployRequest,
    touched: { started: boolean },
  ): Promise<DeployResult> {
    const { version, key, signal } = request;
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    const lines: string[] = [];
    const say = (raw: string) => {
      const line = options.redact(raw);
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      options.onLine?.(line);
    };
    if (request.weight !== undefined)
      return {
        ok: false,
        started: false,
        message: "vercel cannot send a share of traffic to a version: no canary steps with this provider",
      };
    const ctx = context(version, say);
    const entry = await store.entry(key);
    const state = await store.read();
    const before = await serving(ctx, state, deadline, signal);
    const detail = (await store.details(version))?.deploymentId;
    const recorded = typeof detail === "string" ? detail : undefined;
    const previousVersion =
      before.version && !sameVersion(before.version, version) ? before.version : undefined;
    const verb = action === "deploy" ? "deployed" : "rolled back";

    // Already serving, ready: nothing to do (an earlier call for this key may have done it).
    const servesIt =
      before.deploymentId !== undefined &&
      (sameVersion(before.version, version) || before.deploymentId === recorded);
    if (servesIt && before.readyState === "READY") {
      if (entry?.result === "in-progress" && entry.version === version)
        await store.finish(
          key,
          "ok",
          `${version} found serving on ${ctx.alias} when the key was replayed`,
          version,
        );
      return {
        ok: true,
        started: true,
        replayed: true,
        version,
        ...(entry?.previousVersion ? { previousVersion: entry.previousVersion } : {}),
        message: `${version} already serving on ${ctx.alias} (deployment ${before.deploymentId}); nothing ${verb}`,
        output: lines,
      };
    }

    // A call for this key that was cut short is carried on, under the same entry.
    const resumed = entry?.result === "in-progress" && entry.version === version && entry.action === action;
    if (!resumed)
      await store.begin({ key, version, action, ...(previousVersion ? { previousVersion } : {}) });
    const fail = async (message: string): Promise<DeployResult> => {
      await store.finish(key, "failed", message);
      return {
        ok: false,
        started: touched.started,
        ...(previousVersion ? { previousVersion } : {}),
        message,
        output: lines,
      };
    };

    let d: VercelDeployment | undefined;
    if (action === "rollback") {
      d = recorded ? await deploymentOrNone(ctx, recorded, deadline, signal) : undefined;
      d ??= await byVersion(ctx, deadline, signal);
      if (!d)
        return fail(
          `no deployment of ${version} is known: none recorded, and project ${ctx.project} has none with meta.${spec.versionMeta} = ${version}`,
        );
      if (d.readyState !== "READY")
        return fail(`deployment ${d.id} of ${version} is ${d.readyState}, not READY; cannot roll back to it`);
      say(`rolling ${ctx.alias} back to deployment ${d.id}${d.url ? ` (${d.url})` : ""} of ${version}`);
    } else if (spec.source === "prebuilt") {
      d = await byVersion(ctx, deadline, signal);
      if (!d)
        return fail(
          `project ${ctx.project} has no ${text(spec.target, version)} deployment with meta.${spec.versionMeta} = ${version}; build one with \`vercel deploy --prebuilt${text(spec.target, version) === "production" ? " --prod --skip-domain" : ""} --meta ${spec.versionMeta}=${version}\``,
        );
      say(`found deployment ${d.id}${d.url ? ` (${d.url})` : ""} of ${version}: ${d.readyState}`);
    } else {
      d = await ctx.client.findDeployment(ctx.project, (x) => x.meta.gantryKey === key, deadline, signal);
      // An attempt of this key that ended in failure: this one builds again.
      if (d && FAILED.has(d.readyState) && !resumed) d = undefined;
      if (d) {
        touched.started = true;
        say(`carrying on with deployment ${d.id} created for this step earlier: ${d.readyState}`);
      } else {
        const { body, from } = createBody(ctx, key);
        try {
          d = await ctx.client.createDeployment(body, deadline, signal);
        } catch (e) {
          const refused = e instanceof VercelError && e.status < 500 && e.status !== 429;
          if (refused) {
            say((e as Error).message);
            return fail(`could not create the deployment of ${version}: ${(e as Error).message}`);
          }
          // No answer: it may have been created. Look before saying anything.
          touched.started = true;
          d = await ctx.client.findDeployment(ctx.project, (x) => x.meta.gantryKey === key, deadline, signal);
          if (!d) throw e;
        }
        touched.started = true;
        say(`created deployment ${d.id}${d.url ? ` (${d.url})` : ""} from ${from}`);
      }
    }

    d = await untilReady(ctx, d, deadline, signal, say);
    if (d.readyState !== "READY") {
      if (FAILED.has(d.readyState)) {
        // A list row may lack the error; the deployment itself has it.
        if (!d.errorCode && !d.errorMessage)
          d = await ctx.client
            .getDeployment(d.id, Math.max(deadline, Date.now() + CANCEL_MS), signal)
            .catch(() => d!);
        const why = [d.errorCode, d.errorMessage].filter(Boolean).join(": ");
        const what = d.readyState === "CANCELED" ? "was canceled" : "failed";
        return fail(`${version}: deployment ${d.id} ${what}${why ? ` (${why})` : ""}`);
      }
      let cancelled = "";
      // A build Gantry started and gave up on is cancelled: finishing later, it could take the production domains.
      if (action === "deploy" && spec.source === "git" && !signal?.aborted) {
        try {
          await ctx.client.cancelDeployment(d.id, Date.now() + CANCEL_MS);
          cancelled = "; cancelled it";
        } catch (e) {
          say(`could not cancel deployment ${d.id}: ${(e as Error).message}`);
        }
      }
      const why = signal?.aborted ? "was stopped" : `did not become ready within ${durationText(timeoutMs)}`;
      return fail(`${version}: deployment ${d.id} ${why} (still ${d.readyState})${cancelled}`);
    }
    await store.setDetails(version, {
      deploymentId: d.id,
      ...(d.url ? { url: d.url } : {}),
      project: ctx.project,
    });

    const wrong = await pointAlias(ctx, d.id, before, deadline, signal, touched);
    if (wrong) return fail(wrong);
    const message = `${verb} ${action === "deploy" ? `${version} ` : `to ${version} `}on ${ctx.alias} (deployment ${d.id}${d.url ? `, ${d.url}` : ""}) in ${durationText(Date.now() - startedAt)}${previousVersion ? ` (was ${previousVersion})` : ""}`;
    await store.finish(key, "ok", message, version);
    return {
      ok: true,
      started: true,
      version,
      ...(previousVersion ? { previousVersion } : {}),
      message,
      output: lines,
    };
  }

  async function deploymentOrNone(ctx: Context, id: string, deadline: number, signal?: AbortSignal) {
    try {
      return await ctx.client.getDeployment(id, deadline, signal);
    } catch (e) {
      if (e instanceof VercelError && e.status === 404) return undefined;
      throw e;
    }
  }

  const guarded = (action: Exclude<DeployAction, "shift">, request: DeployRequest) => {
    const touched = { started: false };
    return release(action, request, touched).catch(async (e: unknown): Promise<DeployResult> => {
      const result = thrown(action, request.version, e, options.redact, touched.started);
      // The entry of a call that began is closed; a store that fails too leaves it in progress.
      const entry = await store.entry(request.key).catch(() => undefined);
      if (entry?.result === "in-progress" && entry.version === request.version)
        await store.finish(request.key, "failed", result.message).catch(() => undefined);
      return result;
    });
  };

  return {
    name: "vercel",

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      const state = await store.read();
      let alias = spec.alias;
      try {
        const ctx = context(state.current ?? "", () => undefined);
        alias = ctx.alias;
        const now = await serving(ctx, state, Date.now() + STATUS_MS, signal);
        if (!now.deploymentId) return { healthy: false, message: `alias ${alias} is not assigned` };
        const label = now.version ?? "unknown version";
        const healthy = now.readyState === "READY";
        return {
          ...(now.version ? { version: now.version } : {}),
          healthy,
          message: `${label} on ${alias}: deployment ${now.deploymentId}${now.url ? ` (${now.url})` : ""} ${now.readyState}`,
        };
      } catch (e) {
        return {
          healthy: false,
          message: `cannot tell what ${alias} serves: ${options.redact((e as Error).message ?? String(e))}`,
        };
      }
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
