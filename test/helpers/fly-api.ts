/**
 * A local stand-in for the part of the Fly Machines API that the fly provider uses, on
 * 127.0.0.1 and a free port, answering from apps and Machines kept in memory. Written from
 * Fly's public documentation of the Machines resource
 * (https://fly.io/docs/machines/api/machines-resource/):
 * - GET  /v1/apps/{app}/machines (filters: region, metadata.{key}): a list of Machines, each
 *   {id, name, state, region, instance_id, private_ip, config, image_ref, checks, created_at,
 *   updated_at, events}. `checks` is the status of each check the config declares:
 *   [{name, status: passing | warning | critical, output, updated_at}].
 * - GET  /v1/apps/{app}/machines/{id}: one Machine.
 * - POST /v1/apps/{app}/machines/{id}: update, body {config (the whole config; no partial
 *   updates), skip_launch}; the Machine gets a new instance_id and goes replacing → starting →
 *   started (with skip_launch: replacing → stopped). The answer is the Machine.
 * - GET  /v1/apps/{app}/machines/{id}/wait?state=started|stopped&instance_id=…&timeout=<s>:
 *   blocks until the Machine (that instance, when given) is in the state: 200 {"ok":true}, or
 *   408 when `timeout` seconds (default 60, at most 60) pass first. instance_id is required to
 *   wait for stopped.
 * - `Authorization: Bearer <token>` (a "FlyV1 …" token as it is); errors are JSON
 *   {"error": "…"}: 401 for a missing or wrong token, 404 for an unknown app or Machine, 400
 *   for a bad request, 429 with Retry-After when `limit()` asks for it.
 *
 * `fail(n, status, method)` answers the next n requests (of that method) with a 5xx, doing nothing.
 *
 * Where the documentation does not say, the behaviour and the wording are this stand-in's own:
 * the error texts, the 422 for an image the registry does not have ("missing"), the state
 * timings (`stepMs` in replacing, `stepMs` in starting, then checks `warning` for `checkMs`
 * before their verdict), and a wait on an instance that is not the current one timing out.
 * Images can be made to misbehave by repository: `hang` (the Machine stays starting),
 * `unhealthy` (it starts, its checks turn critical), `missing` (the update is refused).
 *
 * operations(app): what the platform carried out, counting one per idempotency key rolled out
 * (the distinct `gantry_key` metadata values of the updates it accepted), plus one for each
 * accepted update without that key. A deploy that updates ten Machines, or one finished by a
 * replay after a crash, is one operation; a rollback is another.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { listen } from "../../src/probes/test-support.js";

export type ImageBehaviour = "hang" | "unhealthy" | "missing";

export interface FlyApiOptions {
  token: string;
  /** How long an updated Machine spends replacing, then starting. Default 20 ms. */
  stepMs?: number;
  /** How long a started Machine's checks say warning before passing (or critical). Default 20 ms. */
  checkMs?: number;
}

export interface FlyAppOptions {
  /** How many Machines, default 3. */
  machines?: number;
  /** Their image; default registry.fly.io/<app>:0.9.0. */
  image?: string;
  /** How many of them are stopped (autostop), default 0. */
  stopped?: number;
  /** Whether their config declares a health check (http on 8080, /health), default true. */
  checks?: boolean;
}

interface Machine {
  id: string;
  name: string;
  region: string;
  instanceId: string;
  config: Record<string, unknown> & { image: string; metadata?: Record<string, string> | null };
  createdAt: string;
  updatedAt: string;
  /** When the current instance's update was accepted (ms). */
  since: number;
  /** Extra time in replacing (delayNext). */
  extraMs: number;
  launch: boolean;
  behaviour?: ImageBehaviour;
  digest: string;
}

export interface FlyApi {
  url: string;
  /** Creates the app with its Machines (nothing when it exists). */
  createApp(name: string, options?: FlyAppOptions): void;
  /** The app's Machines as the API shows them now; undefined for an unknown app. */
  machines(app: string): FlyMachineView[] | undefined;
  /** Images of `repository` (the reference without tag or digest) behave so from now on. */
  image(repository: string, behaviour: ImageBehaviour): void;
  /** The next `count` requests are answered 429 with Retry-After: `retryAfter` (seconds). */
  limit(count: number, retryAfter?: number): void;
  /** The next `count` requests (of `method`, when given) are answered `status` (a 5xx), nothing done. */
  fail(count: number, status?: number, method?: string): void;
  /** The next update accepted spends `ms` longer replacing. */
  delayNext(ms: number): void;
  operations(app: string): number;
  /** Every update accepted, in order. */
  updates: Array<{ app: string; machine: string; image: string; key?: string; skipLaunch: boolean }>;
  /** Every request: method, path with query, Authorization header. */
  requests: Array<{ method: string; url: string; authorization: string | undefined }>;
}

export interface FlyMachineView {
  id: string;
  name: string;
  state: string;
  region: string;
  instance_id: string;
  private_ip: string;
  config: Machine["config"];
  image_ref: { registry: string; repository: string; tag: string; digest: string; labels: object };
  checks: Array<{ name: string; status: string; output: string; updated_at: string }>;
  created_at: string;
  updated_at: string;
  events: Array<{ type: string; status: string; source: string; timestamp: number }>;
}

const MAX_WAIT_S = 60;
const WAIT_POLL_MS = 10;

export async function startFlyApi(
  options: FlyApiOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<FlyApi> {
  const stepMs = options.stepMs ?? 20;
  const checkMs = options.checkMs ?? 20;
  const apps = new Map<string, Machine[]>();
  const behaviours = new Map<string, ImageBehaviour>();
  const keys = new Map<string, Set<string>>();
  const keyless = new Map<string, number>();
  let limited = 0;
  let retryAfter = 1;
  let failing = 0;
  let failStatus = 503;
  let failMethod: string | undefined;
  let nextDelay = 0;

  /** The state of a Machine now, and since when (ms). */
  function stateOf(m: Machine, now = Date.now()): { state: string; at: number } {
    const replaced = m.since + m.extraMs + stepMs;
    if (now < replaced) return { state: "replacing", at: m.since };
    if (!m.launch) return { state: "stopped", at: replaced };
    if (m.behaviour === "hang" || now < replaced + stepMs) return { state: "starting", at: replaced };
    return { state: "started", at: replaced + stepMs };
  }

  function view(m: Machine, now = Date.now()): FlyMachineView {
    const { state, at } = stateOf(m, now);
    const declared = Object.keys((m.config.checks as Record<string, unknown> | null | undefined) ?? {});
    let checks: FlyMachineView["checks"] = [];
    if (state === "started") {
      const verdictAt = at + checkMs;
      const pending = now < verdictAt;
      const status = pending ? "warning" : m.behaviour === "unhealthy" ? "critical" : "passing";
      const output = pending
        ? "waiting for status update"
        : status === "passing"
          ? "GET /health: 200 OK"
          : "GET /health: 500 Internal Server Error: database unreachable";
      checks = declared.map((name) => ({
        name,
        status,
        output,
        updated_at: new Date(pending ? at : verdictAt).toISOString(),
      }));
    }
    const image = m.config.image;
    const [reference, digestPart] = image.split("@");
    const slash = reference!.indexOf("/");
    const colon = reference!.lastIndexOf(":");
    const tagged = colon > reference!.lastIndexOf("/");
    return {
      id: m.id,
      name: m.name,
      state,
      region: m.region,
      instance_id: m.instanceId,
      private_ip: `fdaa:0:1:a7b:${m.id.slice(0, 4)}::2`,
      config: structuredClone(m.config),
      image_ref: {
        registry: slash > 0 ? reference!.slice(0, slash) : "docker.io",
        repository: (tagged ? reference!.slice(0, colon) : reference!).slice(slash + 1),
        tag: tagged ? reference!.slice(colon + 1) : "latest",
        digest: digestPart ?? m.digest,
        labels: {},
      },
      checks,
      created_at: m.createdAt,
      updated_at: m.updatedAt,
      events: [{ type: "update", status: state, source: "user", timestamp: m.since }],
    };
  }

  const repositoryOf = (image: string) => {
    const reference = image.split("@")[0]!;
    const colon = reference.lastIndexOf(":");
    return colon > reference.lastIndexOf("/") ? reference.slice(0, colon) : reference;
  };
  const digestOf = (image: string) =>
    `sha256:${Buffer.from(image).toString("hex").padEnd(64, "0").slice(0, 64)}`;
  const instanceId = () => randomBytes(13).toString("hex").toUpperCase().slice(0, 26);

  function createApp(name: string, o: FlyAppOptions = {}): void {
    if (apps.has(name)) return;
    const count = o.machines ?? 3;
    const image = o.image ?? `registry.fly.io/${name}:0.9.0`;
    const created = new Date(Date.now() - 3_600_000).toISOString();
    const machines: Machine[] = [];
    for (let i = 0; i < count; i++) {
      machines.push({
        id: `${randomBytes(6).toString("hex")}${String(i).padStart(2, "0")}`,
        name: `${name}-${i + 1}`,
        region: ["ams", "iad", "syd"][i % 3]!,
        instanceId: instanceId(),
        config: {
          image,
          guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
          env: { PORT: "8080" },
          services: [
            { protocol: "tcp", internal_port: 8080, ports: [{ port: 443, handlers: ["tls", "http"] }] },
          ],
          ...(o.checks === false
            ? {}
            : {
                checks: {
                  http: { type: "http", port: 8080, path: "/health", interval: "1s", timeout: "1s" },
                },
              }),
          metadata: { fly_platform_version: "v2", fly_process_group: "app", fly_release_version: "1" },
        },
        createdAt: created,
        updatedAt: created,
        since: Date.now() - 3_600_000,
        extraMs: 0,
        launch: i < count - (o.stopped ?? 0),
        digest: digestOf(image),
      });
    }
    apps.set(name, machines);
  }

  const api: FlyApi = {
    url: "",
    createApp,
    machines: (app) => apps.get(app)?.map((m) => view(m)),
    image: (repository, behaviour) => {
      behaviours.set(repository, behaviour);
    },
    limit: (count, after = 1) => {
      limited = count;
      retryAfter = after;
    },
    fail: (count, status = 503, method) => {
      failing = count;
      failStatus = status;
      failMethod = method;
    },
    delayNext: (ms) => {
      nextDelay += ms;
    },
    operations: (app) => (keys.get(app)?.size ?? 0) + (keyless.get(app) ?? 0),
    updates: [],
    requests: [],
  };

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, {
        "content-type": "application/json",
        "fly-request-id": randomBytes(8).toString("hex"),
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, message: string, headers?: Record<string, string>) =>
      reply(status, { error: message }, headers);
    api.requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
    });
    const auth = req.headers.authorization;
    const expected = options.token.startsWith("FlyV1 ") ? options.token : `Bearer ${options.token}`;
    if (auth !== expected) return error(401, "unauthorized");
    if (limited > 0) {
      limited--;
      return error(429, "rate limit exceeded", { "retry-after": String(retryAfter) });
    }
    if (failing > 0 && (!failMethod || req.method === failMethod)) {
      failing--;
      return error(failStatus, "service temporarily unavailable, please retry");
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const m = /^\/v1\/apps\/([^/]+)\/machines(?:\/([^/]+)(\/wait)?)?\/?$/.exec(url.pathname);
    if (!m) return error(404, "not found");
    const appName = decodeURIComponent(m[1]!);
    const machines = apps.get(appName);
    if (!machines) return error(404, "app not found");
    if (!m[2]) {
      if (req.method !== "GET") return error(405, "method not allowed");
      const region = url.searchParams.get("region");
      const wanted = [...url.searchParams].filter(([k]) => k.startsWith("metadata."));
      const listed = machines.filter(
        (x) =>
          (!region || x.region === region) &&
          wanted.every(([k, v]) => x.config.metadata?.[k.slice("metadata.".length)] === v),
      );
      return reply(
        200,
        listed.map((x) => view(x)),
      );
    }
    const machine = machines.find((x) => x.id === decodeURIComponent(m[2]!));
    if (!machine) return error(404, "machine not found");
    if (m[3]) {
      if (req.method !== "GET") return error(405, "method not allowed");
      return wait(machine, url.searchParams, res, reply);
    }
    if (req.method === "GET") return reply(200, view(machine));
    if (req.method !== "POST") return error(405, "method not allowed");
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      let body: { config?: Machine["config"]; skip_launch?: unknown };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return error(400, "invalid JSON body");
      }
      const config = body?.config;
      if (!config || typeof config !== "object" || typeof config.image !== "string" || config.image === "")
        return error(400, "invalid machine config: image is required");
      const behaviour = behaviours.get(repositoryOf(config.image));
      if (behaviour === "missing") {
        return error(
          422,
          `failed to update VM ${machine.id}: failed to resolve image ${config.image}: manifest unknown`,
        );
      }
      const now = Date.now();
      machine.config = structuredClone(config);
      machine.instanceId = instanceId();
      machine.since = now;
      machine.updatedAt = new Date(now).toISOString();
      machine.extraMs = nextDelay;
      nextDelay = 0;
      machine.launch = body.skip_launch !== true;
      machine.behaviour = behaviour;
      machine.digest = digestOf(config.image);
      const key = config.metadata?.gantry_key;
      if (key) keys.set(appName, (keys.get(appName) ?? new Set()).add(key));
      else keyless.set(appName, (keyless.get(appName) ?? 0) + 1);
      api.updates.push({
        app: appName,
        machine: machine.id,
        image: config.image,
        ...(key ? { key } : {}),
        skipLaunch: !machine.launch,
      });
      reply(200, view(machine, now));
    });
  });

  function wait(
    machine: Machine,
    params: URLSearchParams,
    res: http.ServerResponse,
    reply: (status: number, body: unknown) => void,
  ) {
    const state = params.get("state") ?? "started";
    if (!["started", "stopped", "suspended", "destroyed"].includes(state))
      return reply(400, { error: `invalid state ${JSON.stringify(state)}` });
    const timeoutText = params.get("timeout") ?? String(MAX_WAIT_S);
    const seconds = Number(timeoutText);
    if (!/^\d+$/.test(timeoutText) || seconds < 1 || seconds > MAX_WAIT_S)
      return reply(400, { error: `timeout must be a whole number of seconds from 1 to ${MAX_WAIT_S}` });
    const instance = params.get("instance_id");
    if (state === "stopped" && !instance)
      return reply(400, { error: "instance_id is required to wait for stopped" });
    const until = Date.now() + seconds * 1000;
    let closed = false;
    res.once("close", () => {
      closed = true;
    });
    const check = () => {
      if (closed) return;
      const there = (!instance || instance === machine.instanceId) && stateOf(machine).state === state;
      if (there) return reply(200, { ok: true });
      if (Date.now() >= until) return reply(408, { error: `timed out waiting for machine to be ${state}` });
      setTimeout(check, WAIT_POLL_MS);
    };
    check();
  }

  const port = await listen(server, cleanup);
  api.url = `http://127.0.0.1:${port}`;
  return api;
}
