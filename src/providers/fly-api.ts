/**
 * The part of the Fly Machines API (https://fly.io/docs/machines/api/machines-resource/) the fly
 * provider uses, as a small client bound to one app and one deadline:
 *
 *   GET  /v1/apps/{app}/machines                    list the app's Machines
 *   GET  /v1/apps/{app}/machines/{id}               one Machine: state, config, checks, image_ref
 *   POST /v1/apps/{app}/machines/{id}               update: the whole config (no partial updates)
 *   GET  /v1/apps/{app}/machines/{id}/wait          block until `state` (started, stopped) for
 *                                                   `instance_id`, at most `timeout` seconds (≤ 60);
 *                                                   408 when the time ran out first
 *
 * Authentication is `Authorization: Bearer <token>`; a token made by `fly tokens create` that
 * starts with "FlyV1 " is sent as it is, as flyctl does. Errors come as JSON {"error": "…"}
 * (sometimes with a "status" code word). A 429 is waited out (Retry-After, else 1 s) and asked
 * again while the deadline allows, for updates too: a request the API refused was not carried
 * out. Reads are retried on a network error or a 5xx; an update is not (the caller reads the
 * Machine to learn whether it was applied). Nothing here throws anything but a FlyError.
 */

import { sleep } from "./state.js";

/** One entry of a Machine's `checks`: the status of a configured health check. */
export interface FlyCheck {
  name?: string;
  /** passing, warning or critical. */
  status?: string;
  output?: string;
  updated_at?: string;
}

export interface FlyMachineConfig {
  image: string;
  metadata?: Record<string, string> | null;
  checks?: Record<string, unknown> | null;
  services?: Array<{ checks?: unknown[] | null } & Record<string, unknown>> | null;
  [key: string]: unknown;
}

export interface FlyMachine {
  id: string;
  name?: string;
  /** created, starting, started, stopping, stopped, suspended, replacing, destroying, destroyed, failed… */
  state: string;
  region?: string;
  /** The current version of the Machine; every update changes it. */
  instance_id?: string;
  config: FlyMachineConfig;
  image_ref?: { registry?: string; repository?: string; tag?: string; digest?: string } | null;
  checks?: FlyCheck[] | null;
  updated_at?: string;
}

export interface FlyUpdate {
  config: FlyMachineConfig;
  /** Update a stopped Machine without starting it. */
  skip_launch?: boolean;
}

/**
 * refused: the API answered no (4xx): nothing was done. timeout: the deadline came first.
 * aborted: the caller's signal. unknown: an update whose answer never came (network, 5xx): it
 * may or may not have been applied.
 */
export type FlyErrorKind = "refused" | "timeout" | "aborted" | "unknown";

export class FlyError extends Error {
  constructor(
    message: string,
    readonly kind: FlyErrorKind,
    /** The HTTP status, when the API answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "FlyError";
  }
}

export interface FlyClientOptions {
  /** The API's base URL, e.g. https://api.machines.dev (with or without /v1). */
  base: string;
  token: string;
  app: string;
  /** Epoch ms: no request is sent, and none is waited for, past this. */
  deadline: number;
  signal?: AbortSignal;
}

export interface FlyClient {
  list(): Promise<FlyMachine[]>;
  get(id: string): Promise<FlyMachine>;
  update(id: string, body: FlyUpdate): Promise<FlyMachine>;
  /** True when the Machine reached `state` (for `instanceId`), false when the API's wait timed out. */
  wait(id: string, instanceId: string | undefined, state: "started" | "stopped"): Promise<boolean>;
}

/** One request gets at most this long (a wait: its own timeout and this much more). */
const REQUEST_MS = 30_000;
/** The API's wait blocks at most this long. */
const MAX_WAIT_S = 60;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2000;

export function flyClient(options: FlyClientOptions): FlyClient {
  const root = `${options.base.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1/apps/${encodeURIComponent(options.app)}`;
  const authorization = options.token.startsWith("FlyV1 ") ? options.token : `Bearer ${options.token}`;

  async function call<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    waitSeconds?: number,
  ): Promise<{ status: number; value: T }> {
    const what = `${method} /v1/apps/${options.app}${path.replace(/\?.*$/, "")}`;
    let pause = RETRY_FIRST_MS;
    let lastProblem = "";
    for (;;) {
      if (options.signal?.aborted) throw new FlyError(`${what}: stopped`, "aborted");
      const remaining = options.deadline - Date.now();
      if (remaining <= 0) {
        throw new FlyError(
          `${what}: no answer before the deadline${lastProblem ? ` (${lastProblem})` : ""}`,
          "timeout",
        );
      }
      const budget = waitSeconds === undefined ? REQUEST_MS : waitSeconds * 1000 + REQUEST_MS;
      const timer = AbortSignal.timeout(Math.max(1, Math.min(remaining, budget)));
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${root}${path}`, {
          method,
          headers: {
            authorization,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: options.signal ? AbortSignal.any([options.signal, timer]) : timer,
        });
        text = await res.text();
      } catch (e) {
        if (options.signal?.aborted) throw new FlyError(`${what}: stopped`, "aborted");
        const problem = timer.aborted ? "no answer in time" : networkProblem(e);
        if (method === "POST") throw new FlyError(`${what}: ${problem}`, "unknown");
        lastProblem = problem;
        await pauseFor(pause, options);
        pause = Math.min(RETRY_MAX_MS, pause * 2);
        continue;
      }
      if (res.ok) return { status: res.status, value: parse(text) as T };
      const said = errorOf(text);
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get("retry-after")) ?? 1000;
        if (Date.now() + wait > options.deadline) {
          throw new FlyError(
            `${what}: rate limited (429${said ? `: ${said}` : ""}); asked to wait ${Math.ceil(wait / 1000)}s, past the deadline`,
            "timeout",
            429,
          );
        }
        lastProblem = "rate limited";
        await pauseFor(wait, options);
        continue;
      }
      if (res.status === 408 && waitSeconds !== undefined) return { status: 408, value: undefined as T };
      const message = `${what}: ${res.status}${said ? ` ${said}` : ""}`;
      if (res.status >= 500) {
        if (method === "POST") throw new FlyError(message, "unknown", res.status);
        lastProblem = `${res.status}${said ? ` ${said}` : ""}`;
        await pauseFor(pause, options);
        pause = Math.min(RETRY_MAX_MS, pause * 2);
        continue;
      }
      throw new FlyError(message, "refused", res.status);
    }
  }

  const machine = (id: string) => `/machines/${encodeURIComponent(id)}`;
  return {
    list: async () => {
      const { value } = await call<FlyMachine[] | null>("GET", "/machines");
      return Array.isArray(value) ? value.filter(isMachine) : [];
    },
    get: async (id) => machineOf((await call<unknown>("GET", machine(id))).value, id),
    update: async (id, body) => machineOf((await call<unknown>("POST", machine(id), body)).value, id),
    wait: async (id, instanceId, state) => {
      const remaining = options.deadline - Date.now();
      const seconds = Math.max(1, Math.min(MAX_WAIT_S, Math.ceil(remaining / 1000)));
      const query = new URLSearchParams({ state, timeout: String(seconds) });
      if (instanceId) query.set("instance_id", instanceId);
      const { status } = await call<unknown>("GET", `${machine(id)}/wait?${query}`, undefined, seconds);
      return status !== 408;
    },
  };
}

function isMachine(m: unknown): m is FlyMachine {
  const o = m as FlyMachine | null;
  return typeof o?.id === "string" && typeof o.config?.image === "string";
}

function machineOf(value: unknown, id: string): FlyMachine {
  if (!isMachine(value))
    throw new FlyError(`machine ${id}: the API answered without a machine config`, "unknown");
  return value;
}

function parse(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What an error answer says: its `error` field, else its first line. */
function errorOf(text: string): string {
  const body = parse(text) as { error?: unknown; status?: unknown } | undefined;
  const said = typeof body?.error === "string" ? body.error : text;
  return said.replace(/\s+/g, " ").trim().slice(0, 300);
}

/** Retry-After as seconds or an HTTP date, in ms. */
function retryAfterMs(header: string | null): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed (temporary)",
  EHOSTUNREACH: "host unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

function networkProblem(err: unknown): string {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && Object.hasOwn(NETWORK_WORDS, code)) return NETWORK_WORDS[code]!;
  }
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  const e = cause instanceof Error ? cause : err;
  return e instanceof Error ? e.message || e.name : String(e);
}

/** Sleeps `ms`, never past the deadline; the caller's signal ends it early. */
function pauseFor(ms: number, options: FlyClientOptions): Promise<void> {
  return sleep(Math.max(0, Math.min(ms, options.deadline - Date.now())), options.signal);
}
