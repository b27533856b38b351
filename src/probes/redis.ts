/**
 * The redis probe: one client per measurement, never reconnecting, always destroyed. It reads
 *   ping         the PING round trip in ms (to 0.1ms)
 *   memory       used_memory as a share of maxmemory, a ratio (0.21 is 21%) so that
 *                `expect: < 80%` compares; `inconclusive` (value: used bytes) when no
 *                maxmemory is set, as there is nothing to take a share of
 *   clients      connected_clients (this probe's connection included)
 *   evictions    keys evicted since the previous measurement (state {evicted, at, runId}); the
 *                first one has only the total since the server started: judged when it is 0,
 *                otherwise `inconclusive`. A restart (new run_id, or a smaller total) counts
 *                the current total as the increase.
 *   policy       maxmemory-policy; default expect `== noeviction`
 *   persistence  true when RDB save points are set or AOF is on, and that mechanism's last
 *                save/write did not fail; default expect `== true`
 * Everything but ping and persistence's save points comes from INFO, which managed Redis
 * services allow; CONFIG GET is needed only for save points when AOF is off.
 *
 * The URL's password never shows: messages name the server by its URL with the password
 * masked, and the password is scrubbed from anything the client says.
 */
import { createClient } from "redis";
import type { Comparison } from "../runbook/expression.js";
import type { Probe } from "../runbook/schema/probes.js";
import {
  bounded,
  comparison,
  errorText,
  guard,
  judge,
  networkProblem,
  num,
  type Outcome,
  percent,
  scrub,
  show,
} from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type RedisSpec = Extract<Probe, { type: "redis" }>;
type Measure = RedisSpec["measure"];
type Client = ReturnType<typeof createClient>;

const MEASURES: readonly Measure[] = ["ping", "memory", "clients", "evictions", "policy", "persistence"];

/** Expectations that apply when the spec gives none. */
const DEFAULT_EXPECT: Partial<Record<Measure, Comparison>> = {
  policy: comparison("== noeviction"),
  persistence: comparison("== true"),
};

/** What evictions keeps between measurements. */
export interface RedisState {
  /** evicted_keys at the time. */
  evicted: number;
  /** Epoch milliseconds. */
  at: number;
  /** The server's run_id: a new one means it restarted and its counters began again. */
  runId?: string;
}

export const redisProbe: ProbeImplementation<"redis"> = {
  type: "redis",
  measure: (spec, context) => guard("redis", context, () => measureRedis(spec, context ?? {})),
};

async function measureRedis(spec: RedisSpec, context: ProbeContext): Promise<Outcome> {
  const previous = readState(context.previous);
  // An error keeps the previous state, so the next evictions sample still has a base.
  const keep = previous ? { state: previous } : {};
  const url = spec.url ?? context.env?.redis?.url;
  if (url === undefined) {
    return {
      phase: "error",
      message: "no Redis to measure: give `url` or set the environment's redis.url",
      ...keep,
    };
  }
  if (typeof url !== "string") return { phase: "error", message: "the Redis URL must be a string", ...keep };
  const target = parseTarget(url);
  if (typeof target === "string") return { phase: "error", message: target, ...keep };
  const measure = spec.measure;
  if (!MEASURES.includes(measure)) {
    return {
      phase: "error",
      message: `unknown measure ${show(measure)}: use one of ${MEASURES.join(", ")}`,
      ...keep,
    };
  }
  const what = `redis ${measure} at ${target.shown}`;
  template(); // Built before the time box starts: the timeout is the server's.
  const outcome = await bounded(spec.timeout, context.signal, what, (signal) =>
    session(url, spec.timeout.ms, signal, what, (client) => read(client, spec, previous)),
  );
  if (outcome.phase === "error" && previous && outcome.state === undefined) outcome.state = previous;
  return scrub(outcome, target.secrets);
}

// ---------------------------------------------------------------------------------------
// The measures

async function read(client: Client, spec: RedisSpec, previous: RedisState | undefined): Promise<Outcome> {
  const expect = spec.expect ?? DEFAULT_EXPECT[spec.measure];
  switch (spec.measure) {
    case "ping":
      return ping(client, expect);
    case "memory":
      return memory(client, expect);
    case "clients": {
      const info = await infoOf(client, "clients");
      const connected = count(info, "connected_clients");
      const max = optionalCount(info, "maxclients");
      const detail = { connected, blocked: optionalCount(info, "blocked_clients"), maxclients: max };
      const of = max !== undefined ? ` of maxclients ${max}` : "";
      return judge(
        connected,
        `${connected} client${connected === 1 ? "" : "s"} connected${of} (this probe included)`,
        expect,
        {
          detail,
        },
      );
    }
    case "evictions":
      return evictions(client, previous, expect);
    case "policy": {
      const policy = field(await infoOf(client, "memory"), "maxmemory_policy");
      return judge(policy, `maxmemory-policy is ${policy}`, expect);
    }
    case "persistence":
      return persistence(client, expect);
  }
}

async function ping(client: Client, expect: Comparison | undefined): Promise<Outcome> {
  const started = performance.now();
  const reply = await client.ping();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  if (reply !== "PONG") return { phase: "error", message: `PING was answered ${show(reply)}, not PONG` };
  return judge(ms, `PING answered in ${num(ms)}ms`, expect);
}

async function memory(client: Client, expect: Comparison | undefined): Promise<Outcome> {
  const info = await infoOf(client, "memory");
  const used = count(info, "used_memory");
  const max = count(info, "maxmemory");
  const detail = { usedBytes: used, maxBytes: max, policy: info.maxmemory_policy };
  if (max === 0) {
    return {
      phase: "inconclusive",
      value: used,
      message: `used_memory ${bytes(used)} and no maxmemory set: no limit to take a share of (set maxmemory, or measure the host's memory)`,
      detail,
    };
  }
  const ratio = used / max;
  return judge(ratio, `used_memory ${bytes(used)} of maxmemory ${bytes(max)} (${percent(ratio)})`, expect, {
    detail,
  });
}

async function evictions(
  client: Client,
  previous: RedisState | undefined,
  expect: Comparison | undefined,
): Promise<Outcome> {
  const stats = await infoOf(client, "stats");
  const server = await infoOf(client, "server");
  const total = count(stats, "evicted_keys");
  const state: RedisState = { evicted: total, at: Date.now() };
  if (server.run_id) state.runId = server.run_id;
  if (!previous) {
    if (total === 0) {
      return judge(0, "no keys evicted since the server started (evicted_keys 0)", expect, { state });
    }
    return {
      phase: "inconclusive",
      value: total,
      message: `evicted_keys is ${total} in total since the server started; this is the first sample, the next one reports the increase`,
      state,
      detail: { total, first: true },
    };
  }
  const restarted =
    total < previous.evicted || (previous.runId !== undefined && state.runId !== previous.runId);
  const increase = restarted ? total : total - previous.evicted;
  const seconds = Math.max(0, (state.at - previous.at) / 1000);
  const since = restarted
    ? "since the server restarted"
    : `in the last ${num(Math.round(seconds * 10) / 10)}s`;
  const said = `${increase} key${increase === 1 ? "" : "s"} evicted ${since} (evicted_keys ${total})`;
  return judge(increase, said, expect, { state, detail: { total, increase, seconds, restarted } });
}

async function persistence(client: Client, expect: Comparison | undefined): Promise<Outcome> {
  const info = await infoOf(client, "persistence");
  const aof = field(info, "aof_enabled") === "1";
  const rdbStatus = info.rdb_last_bgsave_status ?? "unknown";
  const aofStatus = info.aof_last_write_status ?? "unknown";
  let savePoints: string | undefined;
  try {
    const reply = (await client.configGet("save")) as Record<string, string>;
    savePoints = reply.save ?? "";
  } catch (err) {
    // Managed services often refuse CONFIG; AOF on is enough to answer.
    if (!aof) {
      throw new Error(
        `AOF is off, and the RDB save points cannot be read: CONFIG GET save was refused (${errorText(err)})`,
      );
    }
  }
  const rdb = savePoints !== undefined && savePoints.trim() !== "";
  const rdbWorks = rdb && rdbStatus !== "err";
  const aofWorks = aof && aofStatus !== "err";
  const value = rdbWorks || aofWorks;
  const parts = [
    savePoints === undefined
      ? "RDB save points unknown"
      : rdb
        ? `RDB save points "${savePoints}"`
        : "no RDB save points",
    aof ? "AOF on" : "AOF off",
  ];
  if (rdb && rdbStatus === "err") parts.push("the last RDB save failed");
  if (aof && aofStatus === "err") parts.push("the last AOF write failed");
  const detail = {
    savePoints: savePoints ?? null,
    aof,
    rdbLastBgsaveStatus: rdbStatus,
    aofLastWriteStatus: aofStatus,
  };
  return judge(value, `persistence ${value ? "on" : "off"}: ${parts.join(", ")}`, expect, { detail });
}

// ---------------------------------------------------------------------------------------
// INFO

/** INFO text as fields: `used_memory:1024` → {used_memory: "1024"}; sections and comments dropped. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

async function infoOf(client: Client, section: string): Promise<Record<string, string>> {
  const text = String(await client.info(section));
  const fields = parseInfo(text);
  if (Object.keys(fields).length === 0) throw new Error(`INFO ${section} answered nothing readable`);
  return fields;
}

function field(info: Record<string, string>, name: string): string {
  const v = info[name];
  if (v === undefined || v === "") throw new Error(`INFO has no ${name}`);
  return v;
}

function count(info: Record<string, string>, name: string): number {
  const v = field(info, name);
  if (!/^\d+$/.test(v)) throw new Error(`INFO ${name} is ${show(v)}, not a count`);
  return Number(v);
}

function optionalCount(info: Record<string, string>, name: string): number | undefined {
  const v = info[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function readState(previous: unknown): RedisState | undefined {
  if (typeof previous !== "object" || previous === null) return undefined;
  const { evicted, at, runId } = previous as Partial<RedisState>;
  if (typeof evicted !== "number" || !Number.isFinite(evicted) || evicted < 0) return undefined;
  if (typeof at !== "number" || !Number.isFinite(at)) return undefined;
  return typeof runId === "string" ? { evicted, at, runId } : { evicted, at };
}

// ---------------------------------------------------------------------------------------
// The connection

/**
 * Connects, runs `work` and destroys the client. Errors become an `error` naming `what`; an
 * abort (timeout or cancel) destroys the client at once.
 */
async function session(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  what: string,
  work: (client: Client) => Promise<Outcome>,
): Promise<Outcome> {
  const client = template().duplicate({
    url,
    // One attempt: a probe reports what it found, it does not wait for the server to come back.
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  // The client reports connection problems as events too; the failed command says what happened.
  client.on("error", () => undefined);
  const cut = () => destroy(client);
  signal.addEventListener("abort", cut, { once: true });
  try {
    await client.connect();
    return await work(client);
  } catch (err) {
    return { phase: "error", message: `${what}: ${problem(err)}` };
  } finally {
    signal.removeEventListener("abort", cut);
    destroy(client);
  }
}

let shared: Client | undefined;

/**
 * A client that is never connected, whose duplicates do the measuring. createClient() builds
 * a client class (every command and module) for each new set of options, a tenth of a second
 * or more; duplicates share the class it built once.
 */
function template(): Client {
  shared ??= createClient({ disableClientInfo: true });
  return shared;
}

function destroy(client: Client): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // Already closed.
  }
}

function problem(err: unknown): string {
  const text = networkProblem(err);
  if (/^WRONGPASS|^NOAUTH/.test(text)) return `${text} (check the password in the Redis URL)`;
  if (text === "Socket closed unexpectedly") {
    return "the server closed the connection unexpectedly (is this a Redis server?)";
  }
  return text;
}

// ---------------------------------------------------------------------------------------
// URLs and secrets

interface Target {
  /** The URL with its password masked. */
  shown: string;
  /** Texts that must not show: the password as written and decoded. */
  secrets: string[];
}

/** The URL as shown and its secrets, or why it cannot be used (never echoing the URL). */
function parseTarget(url: string): Target | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "the Redis URL is not a valid redis:// URL (percent-encode special characters in the password)";
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    return `unsupported Redis URL scheme ${u.protocol} (use redis:// or rediss://)`;
  }
  if (!u.hostname) return "the Redis URL has no host";
  if (!/^\/?(\d+)?$/.test(u.pathname)) return "the Redis URL's path must be a database number, e.g. /0";
  const secrets: string[] = [];
  if (u.password) {
    secrets.push(u.password);
    try {
      secrets.push(decodeURIComponent(u.password));
    } catch {
      // Not percent-encoded: the raw text is enough.
    }
    u.password = "***";
  }
  return { shown: u.toString(), secrets: [...new Set(secrets)].sort((a, b) => b.length - a.length) };
}

// ---------------------------------------------------------------------------------------
// Formatting

/** Bytes in binary units: 10485760 → "10 MiB". */
function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : num(Math.round(value * 100) / 100)} ${units[unit]}`;
}
