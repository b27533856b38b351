/**
 * The part of Vercel's REST API the vercel provider uses, as documented
 * (https://vercel.com/docs/rest-api, and the OpenAPI description behind @vercel/sdk):
 * - POST /v13/deployments: create a deployment (name, project, target, gitSource, meta).
 * - GET /v13/deployments/{idOrUrl}: one deployment (id, url, readyState, meta, errorCode…).
 * - GET /v7/deployments?projectId=…&limit=…&until=…: a project's deployments, newest first,
 *   paged by `pagination.next` (a timestamp for `until`; null on the last page).
 * - PATCH /v12/deployments/{id}/cancel: cancel a build.
 * - POST /v2/deployments/{id}/aliases {alias}: point an alias at a deployment.
 * - GET /v4/aliases/{idOrAlias}: which deployment an alias points at.
 * Every request carries `Authorization: Bearer <token>` and, for a team, `teamId` (team_…) or
 * `slug`. Errors are JSON `{"error": {"code", "message"}}`. A 429 is waited out (Retry-After,
 * else X-RateLimit-Reset) and a network failure or 5xx retried, while the caller's deadline
 * allows; the caller says which requests are safe to send again.
 */
import { sleep } from "./state.js";

export type ReadyState = "QUEUED" | "INITIALIZING" | "BUILDING" | "READY" | "ERROR" | "CANCELED" | "BLOCKED";

export interface VercelDeployment {
  id: string;
  url?: string;
  readyState: ReadyState | string;
  target?: string | null;
  meta: Record<string, string>;
  createdAt?: number;
  errorCode?: string;
  errorMessage?: string;
}

export interface VercelAlias {
  uid?: string;
  alias: string;
  deploymentId: string | null;
  projectId?: string;
}

/** An answer of the API other than 2xx: the status, Vercel's error code and message. */
export class VercelError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request, without its query string: "POST /v13/deployments". */
    readonly what: string,
  ) {
    super(`Vercel answered ${status} for ${what}: ${code}: ${message}${hint(status)}`);
  }
  /** The token is refused, or may not act on the scope: nothing was done. */
  get auth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export interface ClientOptions {
  api: string;
  token: string;
  /** team_… is sent as teamId, anything else as slug. */
  scope?: string;
  /** Receives one line per retry and wait (already without the token). */
  onLine?: (line: string) => void;
}

interface Call {
  method: "GET" | "POST" | "PATCH";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Give up after this time (epoch ms). */
  deadline: number;
  signal?: AbortSignal;
  /** Whether the request may be sent again after a network failure or a 5xx. */
  retry: boolean;
}

/** One request gets at most this long, and at least this little of what remains. */
const REQUEST_MAX_MS = 30_000;
const REQUEST_MIN_MS = 1000;
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5000;

export class VercelClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.api.replace(/\/+$/, "");
  }

  getDeployment(idOrUrl: string, deadline: number, signal?: AbortSignal): Promise<VercelDeployment> {
    return this.call<VercelDeployment>({
      method: "GET",
      path: `/v13/deployments/${encodeURIComponent(idOrUrl)}`,
      deadline,
      signal,
      retry: true,
    }).then(normalDeployment);
  }

  /**
   * The project's deployments, newest first, up to `pages` pages of 100, stopping at the first
   * that `match` accepts (returned), or undefined.
   */
  async findDeployment(
    project: string,
    match: (d: VercelDeployment) => boolean,
    deadline: number,
    signal?: AbortSignal,
    pages = 5,
  ): Promise<VercelDeployment | undefined> {
    let until: number | undefined;
    for (let page = 0; page < pages; page++) {
      const answer = await this.call<{
        deployments?: Array<Record<string, unknown>>;
        pagination?: { next?: number | null };
      }>({
        method: "GET",
        path: "/v7/deployments",
        query: { projectId: project, limit: 100, until },
        deadline,
        signal,
        retry: true,
      });
      for (const raw of answer.deployments ?? []) {
        const d = normalDeployment(raw);
        if (match(d)) return d;
      }
      const next = answer.pagination?.next;
      if (typeof next !== "number" || (answer.deployments ?? []).length === 0) return undefined;
      until = next;
    }
    return undefined;
  }

  createDeployment(body: Record<string, unknown>, deadline: number, signal?: AbortSignal) {
    // Not sent again on its own: the caller looks for what an unanswered attempt created first.
    return this.call<Record<string, unknown>>({
      method: "POST",
      path: "/v13/deployments",
      body,
      deadline,
      signal,
      retry: false,
    }).then(normalDeployment);
  }

  cancelDeployment(id: string, deadline: number, signal?: AbortSignal) {
    return this.call<Record<string, unknown>>({
      method: "PATCH",
      path: `/v12/deployments/${encodeURIComponent(id)}/cancel`,
      deadline,
      signal,
      retry: true,
    }).then(normalDeployment);
  }

  /** Points `alias` at deployment `id` (the same request twice leaves the same result). */
  assignAlias(id: string, alias: string, deadline: number, signal?: AbortSignal) {
    return this.call<{ uid?: string; alias?: string; oldDeploymentId?: string | null }>({
      method: "POST",
      path: `/v2/deployments/${encodeURIComponent(id)}/aliases`,
      body: { alias },
      deadline,
      signal,
      retry: true,
    });
  }

  /** The alias, or undefined when it is not assigned (404). */
  async getAlias(alias: string, deadline: number, signal?: AbortSignal): Promise<VercelAlias | undefined> {
    try {
      const a = await this.call<Record<string, unknown>>({
        method: "GET",
        path: `/v4/aliases/${encodeURIComponent(alias)}`,
        deadline,
        signal,
        retry: true,
      });
      const deployment = a.deployment as { id?: string } | undefined;
      const id = typeof a.deploymentId === "string" ? a.deploymentId : deployment?.id;
      return {
        alias: typeof a.alias === "string" ? a.alias : alias,
        deploymentId: id ?? null,
        ...(typeof a.uid === "string" ? { uid: a.uid } : {}),
        ...(typeof a.projectId === "string" ? { projectId: a.projectId } : {}),
      };
    } catch (e) {
      if (e instanceof VercelError && e.status === 404) return undefined;
      throw e;
    }
  }

  private async call<T>(call: Call): Promise<T> {
    const url = new URL(this.base + call.path);
    for (const [k, v] of Object.entries(call.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const scope = this.options.scope;
    if (scope) url.searchParams.set(scope.startsWith("team_") ? "teamId" : "slug", scope);
    const what = `${call.method} ${call.path}`;
    for (let attempt = 0; ; attempt++) {
      const left = call.deadline - Date.now();
      const timer = AbortSignal.timeout(Math.max(REQUEST_MIN_MS, Math.min(REQUEST_MAX_MS, left)));
      let response: Response;
      try {
        response = await fetch(url, {
          method: call.method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: "application/json",
            ...(call.body !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
          signal: call.signal ? AbortSignal.any([timer, call.signal]) : timer,
        });
      } catch (e) {
        if (call.signal?.aborted) throw new Error(`${what}: stopped`);
        const reason = (e as Error).cause ? String(((e as Error).cause as Error).message ?? e) : String(e);
        const wait = backoff(attempt);
        if (call.retry && Date.now() + wait < call.deadline) {
          this.options.onLine?.(`${what}: ${reason}; trying again in ${wait} ms`);
          await sleep(wait, call.signal);
          continue;
        }
        throw new Error(`${what}: ${reason}`);
      }
      const text = await response.text();
      if (response.ok) {
        try {
          return (text ? JSON.parse(text) : {}) as T;
        } catch {
          throw new Error(`${what} → ${response.status}: the answer is not JSON (${snippet(text)})`);
        }
      }
      const error = vercelError(response.status, text, what);
      if (response.status === 429) {
        const wait = retryAfter(response.headers);
        if (Date.now() + wait < call.deadline) {
          this.options.onLine?.(`${what}: rate limited by Vercel; waiting ${Math.ceil(wait / 1000)}s`);
          await sleep(wait, call.signal);
          if (call.signal?.aborted) throw new Error(`${what}: stopped`);
          continue;
        }
        throw error;
      }
      if (response.status >= 500 && call.retry) {
        const wait = backoff(attempt);
        if (Date.now() + wait < call.deadline) {
          this.options.onLine?.(`${error.message}; trying again in ${wait} ms`);
          await sleep(wait, call.signal);
          continue;
        }
      }
      throw error;
    }
  }
}

/** What a person checks after a refusal. */
function hint(status: number): string {
  if (status === 401) return " (check deploy.token)";
  if (status === 403) return " (check deploy.token and deploy.scope)";
  if (status === 404) return " (check deploy.project and deploy.scope)";
  return "";
}

function backoff(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
}

/** How long a 429 asks to wait: Retry-After (seconds or a date), else X-RateLimit-Reset (epoch seconds). */
export function retryAfter(headers: Headers, now = Date.now()): number {
  const after = headers.get("retry-after");
  if (after !== null) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(after);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = Number(headers.get("x-ratelimit-reset"));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  return 1000;
}

function vercelError(status: number, text: string, what: string): VercelError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === "string" ? body.error.code : `http_${status}`;
    const message = typeof body.error?.message === "string" ? body.error.message : snippet(text);
    return new VercelError(status, code, message, what);
  } catch {
    return new VercelError(status, `http_${status}`, snippet(text) || "no body", what);
  }
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

/** A deployment as the single and the list endpoints write it (`id` or `uid`, `readyState` or `state`). */
function normalDeployment(raw: Record<string, unknown> | VercelDeployment): VercelDeployment {
  const r = raw as Record<string, unknown>;
  const meta: Record<string, string> = {};
  if (r.meta && typeof r.meta === "object") {
    for (const [k, v] of Object.entries(r.meta as Record<string, unknown>))
      if (typeof v === "string") meta[k] = v;
  }
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const created =
    typeof r.createdAt === "number" ? r.createdAt : typeof r.created === "number" ? r.created : undefined;
  const id = str(r.id) ?? str(r.uid) ?? "";
  const url = str(r.url);
  const errorCode = str(r.errorCode);
  const errorMessage = str(r.errorMessage);
  return {
    id,
    readyState: str(r.readyState) ?? str(r.state) ?? "UNKNOWN",
    meta,
    ...(url ? { url } : {}),
    ...(r.target === null || typeof r.target === "string" ? { target: r.target as string | null } : {}),
    ...(created !== undefined ? { createdAt: created } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(errorMessage ? { errorMessage } : {}),
  };
}
