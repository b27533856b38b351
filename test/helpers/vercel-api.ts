/**
 * A local stand-in for the part of Vercel's REST API the vercel provider uses, on 127.0.0.1
 * and a free port, written from Vercel's REST API reference (https://vercel.com/docs/rest-api
 * and the OpenAPI description behind @vercel/sdk):
 * - POST /v13/deployments {name, project?, target?, gitSource, meta}: a git deployment. The
 *   repository must be one the test declared (`repos`), else 400 incorrect_git_source_info.
 * - GET /v13/deployments/{idOrUrl}, PATCH /v12/deployments/{id}/cancel.
 * - GET /v7/deployments?projectId=&limit=&until=&target=&state=: newest first, paged by
 *   `pagination.next` (the `created` of the last one, null on the last page).
 * - POST /v2/deployments/{id}/aliases {alias}: 400 deployment_not_ready unless READY; the
 *   answer carries `oldDeploymentId` when the alias pointed elsewhere.
 * - GET /v4/aliases/{idOrAlias}.
 * Scoping: `teamId` (team_…) or `slug` names a team of `teams`; without either the request
 * acts for the token's own account. A project, a deployment or an alias belongs to the owner
 * it was made for and is not found (404) from another. An unknown team is 403 forbidden.
 * Errors are written as Vercel writes them: {"error": {"code", "message"}}; a wrong or
 * missing token is 401; `throttle(n)` answers the next n requests 429 with Retry-After, and
 * `failNext(n)` answers them 503.
 *
 * Builds progress with time: QUEUED, then BUILDING after a third of the build time, then READY
 * (or ERROR for a repository declared so); a repository declared `hang` stays BUILDING.
 * `delay(ms)` makes the next build or alias assignment take that much longer; an assignment
 * held that way is still carried out when its client has gone (the platform finishes what it
 * accepted).
 *
 * Counters per project name: `created` deployments, alias `switches` (an assignment that moved
 * an alias) and `rollbacks` (a switch back to a deployment the alias pointed at before);
 * `operations(project)` = created + rollbacks, the deploys and rollbacks carried out.
 */
import http from "node:http";
import { listenAt } from "./listen-at.js";

export type StandInState = "QUEUED" | "BUILDING" | "READY" | "ERROR" | "CANCELED";

export interface RepoBehaviour {
  /** What the build ends in (default ready). */
  outcome?: "ready" | "error" | "hang";
  /** How long a build takes, ms (default the API's buildMs). */
  buildMs?: number;
}

export interface VercelApiOptions {
  token: string;
  teams?: Array<{ id: string; slug: string }>;
  /** "owner/name" (github org/repo, bitbucket owner/slug) or a numeric id → how its builds go. */
  repos?: Record<string, RepoBehaviour>;
  /** Default build time, ms (QUEUED → BUILDING → READY). */
  buildMs?: number;
  /** A fixed port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface StandInDeployment {
  id: string;
  url: string;
  name: string;
  projectId: string;
  project: string;
  owner: string;
  target: string | null;
  meta: Record<string, string>;
  createdAt: number;
  buildMs: number;
  outcome: "ready" | "error" | "hang";
  canceledAt?: number;
  gitSource?: Record<string, unknown>;
}

export interface StandInAlias {
  uid: string;
  alias: string;
  owner: string;
  deploymentId: string;
  projectId: string;
  createdAt: number;
  updatedAt: number;
  /** Deployments the alias has pointed at, oldest first. */
  history: string[];
}

export interface Counters {
  created: number;
  switches: number;
  rollbacks: number;
}

export interface VercelApi {
  url: string;
  deployments: Map<string, StandInDeployment>;
  /** By owner and alias name: `${owner} ${alias}`. */
  aliases: Map<string, StandInAlias>;
  requests: Array<{ method: string; url: string; authorization: string | undefined }>;
  counters(project: string): Counters;
  operations(project: string): number;
  /** The next build or alias assignment takes `ms` longer. */
  delay(ms: number): void;
  /** The next `count` requests are answered 429, Retry-After `seconds`. */
  throttle(count: number, seconds?: number): void;
  /** The next `count` requests are answered `status` (default 503), as an outage would. */
  failNext(count: number, status?: number): void;
  /** A deployment made outside Gantry (CI's `vercel deploy --prebuilt`): READY unless told. */
  addDeployment(input: {
    project: string;
    owner?: string;
    meta?: Record<string, string>;
    target?: string | null;
    state?: "ready" | "error" | "hang";
    buildMs?: number;
    createdAt?: number;
  }): StandInDeployment;
  stateOf(d: StandInDeployment): StandInState;
  /** The deployment `alias` points at for `owner` (default: the account). */
  aliased(alias: string, owner?: string): StandInDeployment | undefined;
}

const ACCOUNT = "user";

export async function startVercelApi(
  options: VercelApiOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<VercelApi> {
  const defaultBuild = options.buildMs ?? 150;
  const projects = new Map<string, string>(); // `${owner} ${name}` → prj_…
  const counters = new Map<string, Counters>();
  let pendingDelay = 0;
  let throttled = 0;
  let throttleSeconds = 1;
  let failing = 0;
  let failStatus = 503;
  let seq = 0;
  const timers = new Set<NodeJS.Timeout>();
  cleanup(() => {
    for (const t of timers) clearTimeout(t);
  });

  const counter = (project: string) => {
    const c = counters.get(project) ?? { created: 0, switches: 0, rollbacks: 0 };
    counters.set(project, c);
    return c;
  };
  const id = (prefix: string) =>
    `${prefix}_${(++seq).toString(36).padStart(6, "0")}${Math.random().toString(36).slice(2, 10)}`;
  const projectId = (owner: string, name: string) => {
    const key = `${owner} ${name}`;
    if (!projects.has(key)) projects.set(key, id("prj"));
    return projects.get(key)!;
  };
  const takeDelay = () => {
    const d = pendingDelay;
    pendingDelay = 0;
    return d;
  };

  function stateOf(d: StandInDeployment): StandInState {
    if (d.canceledAt !== undefined) return "CANCELED";
    const age = Date.now() - d.createdAt;
    if (age < d.buildMs / 3) return "QUEUED";
    if (d.outcome === "hang" || age < d.buildMs) return "BUILDING";
    return d.outcome === "error" ? "ERROR" : "READY";
  }

  function view(d: StandInDeployment) {
    const readyState = stateOf(d);
    const aliases = [...api.aliases.values()].filter((a) => a.deploymentId === d.id).map((a) => a.alias);
    return {
      id: d.id,
      url: d.url,
      name: d.name,
      projectId: d.projectId,
      createdAt: d.createdAt,
      buildingAt: d.createdAt + Math.round(d.buildMs / 3),
      ...(readyState === "READY" ? { ready: d.createdAt + d.buildMs } : {}),
      readyState,
      ...(readyState === "READY" ? { readySubstate: aliases.length ? "PROMOTED" : "STAGED" } : {}),
      target: d.target,
      meta: d.meta,
      alias: aliases,
      aliasAssigned: aliases.length > 0,
      ...(readyState === "ERROR"
        ? { errorCode: "BUILD_FAILED", errorMessage: 'Command "npm run build" exited with 1' }
        : {}),
      ...(readyState === "CANCELED" ? { errorMessage: "The deployment was canceled" } : {}),
      ...(d.gitSource ? { gitSource: d.gitSource } : {}),
    };
  }

  function addDeployment(input: Parameters<VercelApi["addDeployment"]>[0]): StandInDeployment {
    const owner = input.owner ?? ACCOUNT;
    const depId = id("dpl");
    const d: StandInDeployment = {
      id: depId,
      url: `${input.project}-${depId.slice(4, 13)}.vercel.app`.toLowerCase(),
      name: input.project,
      project: input.project,
      projectId: projectId(owner, input.project),
      owner,
      target: input.target === undefined ? "production" : input.target,
      meta: input.meta ?? {},
      createdAt: input.createdAt ?? Date.now(),
      buildMs: input.buildMs ?? (input.state && input.state !== "ready" ? defaultBuild : 0),
      outcome: input.state ?? "ready",
    };
    api.deployments.set(d.id, d);
    return d;
  }

  const api: VercelApi = {
    url: "",
    deployments: new Map(),
    aliases: new Map(),
    requests: [],
    counters: (project) => ({ ...counter(project) }),
    operations: (project) => {
      const c = counter(project);
      return c.created + c.rollbacks;
    },
    delay(ms) {
      pendingDelay += ms;
    },
    throttle(count, seconds = 1) {
      throttled = count;
      throttleSeconds = seconds;
    },
    failNext(count, status = 503) {
      failing = count;
      failStatus = status;
    },
    addDeployment,
    stateOf,
    aliased(alias, owner = ACCOUNT) {
      const a = api.aliases.get(`${owner} ${alias}`);
      return a ? api.deployments.get(a.deploymentId) : undefined;
    },
  };

  /** Points an alias at a deployment; counts a switch and a rollback. */
  function assign(owner: string, alias: string, d: StandInDeployment) {
    const key = `${owner} ${alias}`;
    const now = Date.now();
    const existing = api.aliases.get(key);
    const old = existing?.deploymentId;
    if (existing && old === d.id) return { alias: existing, old };
    const record: StandInAlias = existing ?? {
      uid: id("als"),
      alias,
      owner,
      deploymentId: d.id,
      projectId: d.projectId,
      createdAt: now,
      updatedAt: now,
      history: [],
    };
    const c = counter(d.project);
    c.switches++;
    if (record.history.includes(d.id)) c.rollbacks++;
    record.deploymentId = d.id;
    record.projectId = d.projectId;
    record.updatedAt = now;
    record.history.push(d.id);
    api.aliases.set(key, record);
    return { alias: record, old };
  }

  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      void handle(req, res, raw);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      reply(status, { error: { code, message } }, headers);
    const method = req.method ?? "GET";
    api.requests.push({ method, url: req.url ?? "", authorization: req.headers.authorization });

    if (throttled > 0) {
      throttled--;
      const reset = Math.ceil(Date.now() / 1000) + throttleSeconds;
      return error(429, "rate_limited", "Rate limit exceeded", {
        "retry-after": String(throttleSeconds),
        "x-ratelimit-limit": "100",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(reset),
      });
    }
    if (failing > 0) {
      failing--;
      return error(failStatus, "internal_server_error", "An unexpected internal error occurred");
    }
    const auth = req.headers.authorization;
    if (!auth) return error(401, "forbidden", "Missing authentication token");
    if (auth !== `Bearer ${options.token}`) return error(401, "forbidden", "Not authorized");

    const url = new URL(req.url ?? "/", "http://localhost");
    const teamId = url.searchParams.get("teamId");
    const slug = url.searchParams.get("slug");
    let owner = ACCOUNT;
    if (teamId || slug) {
      const team = (options.teams ?? []).find((t) => (teamId ? t.id === teamId : t.slug === slug));
      if (!team) return error(403, "forbidden", "You don't have permission to access this team");
      owner = team.id;
    }
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return error(400, "bad_request", "Invalid JSON body");
      }
    }
    const find = (idOrUrl: string) => {
      const host = idOrUrl.replace(/^https?:\/\//, "");
      for (const d of api.deployments.values()) {
        if (d.owner === owner && (d.id === idOrUrl || d.url === host)) return d;
      }
      return undefined;
    };
    const path = url.pathname;
    const route = (want: string, pattern: RegExp) => (method === want ? pattern.exec(path) : null);

    if (method === "POST" && path === "/v13/deployments") {
      const name = typeof body.name === "string" ? body.name : "";
      if (!name) return error(400, "bad_request", "Invalid request: missing required property `name`");
      const project = typeof body.project === "string" && body.project ? body.project : name;
      const git = body.gitSource as Record<string, unknown> | undefined;
      if (!git || typeof git !== "object")
        return error(400, "missing_files", "Missing files (this stand-in builds git sources only)");
      const repo =
        git.type === "github" && git.repoId !== undefined
          ? String(git.repoId)
          : git.type === "github"
            ? `${git.org}/${git.repo}`
            : git.type === "gitlab"
              ? String(git.projectId)
              : `${git.owner}/${git.slug}`;
      const behaviour = options.repos?.[repo];
      if (!behaviour || typeof git.ref !== "string" || git.ref === "")
        return error(
          400,
          "incorrect_git_source_info",
          `The provided ${String(git.type)} repository "${repo}" does not exist or has no ref "${String(git.ref ?? "")}"`,
        );
      const meta: Record<string, string> = {};
      for (const [k, v] of Object.entries((body.meta as Record<string, unknown>) ?? {}))
        if (typeof v === "string") meta[k] = v;
      meta.githubCommitRef ??= String(git.ref);
      const target = typeof body.target === "string" && body.target !== "preview" ? body.target : null;
      const d = addDeployment({
        project,
        owner,
        meta,
        target,
        state: behaviour.outcome ?? "ready",
        buildMs: (behaviour.buildMs ?? defaultBuild) + takeDelay(),
      });
      d.gitSource = git;
      counter(project).created++;
      return reply(200, view(d));
    }

    const m1 = route("GET", /^\/v13\/deployments\/([^/]+)$/);
    if (m1) {
      const d = find(decodeURIComponent(m1[1]!));
      return d ? reply(200, view(d)) : error(404, "not_found", "Deployment not found");
    }

    const m2 = route("PATCH", /^\/v12\/deployments\/([^/]+)\/cancel$/);
    if (m2) {
      const d = find(decodeURIComponent(m2[1]!));
      if (!d) return error(404, "not_found", "Deployment not found");
      const state = stateOf(d);
      if (state === "READY" || state === "ERROR")
        return error(400, "bad_request", `Cannot cancel a deployment that is ${state}`);
      d.canceledAt ??= Date.now();
      return reply(200, view(d));
    }

    if (path === "/v7/deployments" && method === "GET") {
      const projectFilter = url.searchParams.get("projectId");
      const limit = Math.min(100, Number(url.searchParams.get("limit") ?? 20) || 20);
      const until = Number(url.searchParams.get("until") ?? Number.POSITIVE_INFINITY);
      const target = url.searchParams.get("target");
      const states = url.searchParams.get("state")?.split(",");
      const all = [...api.deployments.values()]
        .filter(
          (d) =>
            d.owner === owner &&
            (!projectFilter || d.project === projectFilter || d.projectId === projectFilter) &&
            d.createdAt < until &&
            (!target || d.target === target) &&
            (!states || states.includes(stateOf(d))),
        )
        .sort((a, b) => b.createdAt - a.createdAt);
      const page = all.slice(0, limit);
      const rows = page.map((d) => {
        const v = view(d);
        return {
          uid: v.id,
          name: v.name,
          url: v.url,
          created: v.createdAt,
          createdAt: v.createdAt,
          state: v.readyState,
          readyState: v.readyState,
          target: v.target,
          meta: v.meta,
          projectId: v.projectId,
          ...(v.errorCode ? { errorCode: v.errorCode } : {}),
          ...(v.errorMessage ? { errorMessage: v.errorMessage } : {}),
          type: "LAMBDAS",
          creator: { uid: "usr_standin" },
          inspectorUrl: `https://vercel.com/${owner}/${d.project}/${d.id}`,
        };
      });
      const more = all.length > limit;
      return reply(200, {
        deployments: rows,
        pagination: { count: rows.length, next: more ? page.at(-1)!.createdAt : null, prev: null },
      });
    }

    const m3 = route("POST", /^\/v2\/deployments\/([^/]+)\/aliases$/);
    if (m3) {
      const d = find(decodeURIComponent(m3[1]!));
      if (!d) return error(404, "not_found", "Deployment not found");
      const alias = typeof body.alias === "string" ? body.alias.trim().toLowerCase() : "";
      if (!alias) return error(400, "bad_request", "Invalid request: missing required property `alias`");
      const state = stateOf(d);
      if (state !== "READY")
        return error(400, "deployment_not_ready", `The deployment ${d.id} is not ready (${state})`);
      const held = takeDelay();
      if (held > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, held);
          timers.add(t);
        });
      }
      const { alias: record, old } = assign(owner, alias, d);
      return reply(200, {
        uid: record.uid,
        alias: record.alias,
        created: new Date(record.createdAt).toISOString(),
        ...(old && old !== d.id ? { oldDeploymentId: old } : {}),
      });
    }

    const m4 = route("GET", /^\/v4\/aliases\/([^/]+)$/);
    if (m4) {
      const name = decodeURIComponent(m4[1]!).toLowerCase();
      const a =
        api.aliases.get(`${owner} ${name}`) ??
        [...api.aliases.values()].find((x) => x.owner === owner && x.uid === name);
      if (!a) return error(404, "not_found", "The alias was not found");
      const d = api.deployments.get(a.deploymentId);
      return reply(200, {
        uid: a.uid,
        alias: a.alias,
        created: new Date(a.createdAt).toISOString(),
        createdAt: a.createdAt,
        updatedAt: a.updatedAt,
        deploymentId: a.deploymentId,
        projectId: a.projectId,
        ...(d ? { deployment: { id: d.id, url: d.url, meta: JSON.stringify(d.meta) } } : {}),
      });
    }

    return error(404, "not_found", `The requested endpoint ${method} ${path} does not exist (stand-in)`);
  }

  const port = await listenAt(server, cleanup, options.port);
  api.url = `http://127.0.0.1:${port}`;
  return api;
}
