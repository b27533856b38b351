/**
 * The postgres probe: one connection per measurement, always closed. It measures
 *   connect           ms to connect and run `SELECT 1`
 *   pool-usage        client connections (this one included) as a share of max_connections,
 *                     a ratio (0.125 is 12.5%) so that `expect: < 80%` compares; default `< 80%`
 *   blocking-queries  sessions waiting on a lock whose statement started more than `blockedFor`
 *                     ago; default expect `== 0`
 *   schema-version    the first value of `query`, or of the environment's database.schemaVersion
 *   query             the first value of `query`
 * With `baseline:`, the first measurement without a baseline captures the value (state
 * {baseline}); later ones compare the change with it against `baseline.tolerance`.
 *
 * Queries run in a read-only transaction with `SET LOCAL statement_timeout` (the probe's
 * timeout), so a probe never writes and a slow query stops on the server too. The timeout is
 * not a startup parameter: PgBouncer-style poolers refuse those. A measurement that times out
 * or is cancelled cuts the connection at once.
 *
 * The URL's password never shows: messages name the database by its URL with the password
 * masked, and the password is scrubbed from anything the driver says.
 */
import pg from "pg";
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
import type { ProbeContext, ProbeImplementation, Value } from "./types.js";

type PostgresSpec = Extract<Probe, { type: "postgres" }>;
type Measure = PostgresSpec["measure"];

const MEASURES: readonly Measure[] = ["connect", "pool-usage", "blocking-queries", "schema-version", "query"];

/** Expectations that apply when the spec gives none. */
const DEFAULT_EXPECT: Partial<Record<Measure, Comparison>> = {
  "pool-usage": comparison("< 80%"),
  "blocking-queries": comparison("== 0"),
};

/** Up to this many blocked sessions are listed in the detail. */
const LISTED_BLOCKED = 5;

/** What a measure read, before the verdict. */
interface Reading {
  value: Value;
  /** What was measured, in words: "12 of 100 connections in use (12%)". */
  said: string;
  /** What the value is, for baseline messages: "connections in use", a query. */
  subject: string;
  detail?: Record<string, unknown>;
}

/** What a baseline capture leaves for the comparison after the deploy. */
export interface PostgresState {
  baseline: Value;
}

export const postgresProbe: ProbeImplementation<"postgres"> = {
  type: "postgres",
  measure: (spec, context) => guard("postgres", context, () => measurePostgres(spec, context ?? {})),
};

async function measurePostgres(spec: PostgresSpec, context: ProbeContext): Promise<Outcome> {
  const url = spec.url ?? context.env?.database?.url;
  if (url === undefined) {
    return {
      phase: "error",
      message: "no database to measure: give `url` or set the environment's database.url",
    };
  }
  if (typeof url !== "string") return { phase: "error", message: "the database URL must be a string" };
  const target = parseTarget(url);
  if (typeof target === "string") return { phase: "error", message: target };
  const measure = spec.measure;
  if (!MEASURES.includes(measure)) {
    return { phase: "error", message: `unknown measure ${show(measure)}: use one of ${MEASURES.join(", ")}` };
  }
  const query =
    measure === "schema-version" ? (spec.query ?? context.env?.database?.schemaVersion) : spec.query;
  if ((measure === "query" || measure === "schema-version") && (typeof query !== "string" || !query.trim())) {
    return {
      phase: "error",
      message:
        measure === "query"
          ? "measure query needs `query`: SQL returning one value"
          : "measure schema-version needs `query`, or the environment's database.schemaVersion",
    };
  }
  const what = `postgres ${measure} at ${target.shown}`;
  const outcome = await bounded(spec.timeout, context.signal, what, (signal) =>
    session(url, signal, what, async (client, started) => {
      const reading = await read(client, spec, query ?? "", started);
      return verdict(reading, spec, context);
    }),
  );
  return scrub(outcome, target.secrets);
}

// ---------------------------------------------------------------------------------------
// The measures

async function read(client: pg.Client, spec: PostgresSpec, query: string, started: number): Promise<Reading> {
  switch (spec.measure) {
    case "connect": {
      await client.query("SELECT 1");
      const ms = Math.round(performance.now() - started);
      return { value: ms, said: `connected and ran SELECT 1 in ${ms}ms`, subject: "connect time" };
    }
    case "pool-usage":
      return poolUsage(client, spec.timeout.ms);
    case "blocking-queries":
      return blockingQueries(client, spec);
    case "schema-version": {
      const value = await firstValue(client, query, spec.timeout.ms);
      return { value, said: `schema version ${show(value)}`, subject: "schema version" };
    }
    case "query": {
      const value = await firstValue(client, query, spec.timeout.ms);
      return { value, said: `${clip(query, 60)} returned ${show(value)}`, subject: clip(query, 60) };
    }
  }
}

const POOL_USAGE = `
  SELECT count(*) FILTER (WHERE backend_type = 'client backend')::int AS in_use,
         current_setting('max_connections')::int AS max
  FROM pg_stat_activity`;

async function poolUsage(client: pg.Client, timeoutMs: number): Promise<Reading> {
  const row = (await readOnly(client, timeoutMs, POOL_USAGE)).rows[0] as Record<string, unknown> | undefined;
  const inUse = Number(row?.in_use);
  const max = Number(row?.max);
  if (!Number.isInteger(inUse) || !Number.isInteger(max) || max <= 0) {
    throw new Error(`could not read connections in use and max_connections (got ${show(row)})`);
  }
  const value = inUse / max;
  return {
    value,
    said: `${inUse} of ${max} connections in use (${percent(value)} of max_connections)`,
    subject: "connections in use",
    detail: { inUse, max },
  };
}

// A session waiting on a lock is `active` since its statement started (query_start);
// pg_blocking_pids() names the sessions holding that lock or queued ahead for it.
const BLOCKED = `
  SELECT pid,
         pg_blocking_pids(pid) AS blocked_by,
         round(extract(epoch FROM now() - query_start) * 1000)::float8 AS waited_ms,
         left(query, 80) AS query,
         count(*) OVER ()::int AS total
  FROM pg_stat_activity
  WHERE wait_event_type = 'Lock'
    AND cardinality(pg_blocking_pids(pid)) > 0
    AND now() - query_start > $1::float8 * interval '1 millisecond'
  ORDER BY query_start
  LIMIT ${LISTED_BLOCKED}`;

async function blockingQueries(client: pg.Client, spec: PostgresSpec): Promise<Reading> {
  const { rows } = await readOnly(client, spec.timeout.ms, { text: BLOCKED, values: [spec.blockedFor.ms] });
  const count = Number(rows[0]?.total ?? 0);
  const sessions = rows.map((r) => ({
    pid: Number(r.pid),
    waitedMs: Number(r.waited_ms),
    blockedBy: Array.isArray(r.blocked_by) ? r.blocked_by.map(Number) : [],
    query: String(r.query ?? ""),
  }));
  const longer = `waiting on a lock for more than ${spec.blockedFor.text}`;
  let said = `no session ${longer}`;
  const first = sessions[0];
  if (first) {
    said =
      `${count} session${count === 1 ? "" : "s"} ${longer}` +
      ` (longest: pid ${first.pid} for ${duration(first.waitedMs)}, blocked by pid ${first.blockedBy.join(", ")})`;
  }
  return {
    value: count,
    said,
    subject: "blocked sessions",
    detail: { blockedFor: spec.blockedFor.text, sessions },
  };
}

/** The first column of the first row of `query` (of its last statement, when it has several). */
async function firstValue(client: pg.Client, query: string, timeoutMs: number): Promise<Value> {
  const result = await readOnly(client, timeoutMs, { text: query, rowMode: "array" });
  const field = result.fields?.[0];
  if (!field) throw new Error("the query returned no columns; it must return one value");
  const row = result.rows[0] as unknown[] | undefined;
  if (!row) throw new Error("the query returned no rows; it must return one value");
  return toValue(row[0], field.dataTypeID);
}

const INT8 = 20;
const NUMERIC = 1700;

/** A column value as a measurement value: int8 and numeric (strings from pg) as numbers. */
function toValue(v: unknown, typeId: number): Value {
  if (v === null || v === undefined) return null;
  if ((typeId === INT8 || typeId === NUMERIC) && typeof v === "string") {
    const n = Number(v);
    return Number.isFinite(n) ? n : v;
  }
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Buffer.isBuffer(v)) return `\\x${v.toString("hex")}`;
  return JSON.stringify(v) ?? String(v);
}

/**
 * Runs `query` in a read-only transaction whose statements stop after `timeoutMs` on the
 * server. SET LOCAL ends with the transaction, so a pooled server connection keeps its settings.
 */
async function readOnly(
  client: pg.Client,
  timeoutMs: number,
  query: string | pg.QueryConfig | pg.QueryArrayConfig,
): Promise<pg.QueryResult> {
  await client.query("BEGIN READ ONLY");
  await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
  const result = (await client.query(query as pg.QueryConfig)) as pg.QueryResult | pg.QueryResult[];
  await client.query("COMMIT");
  return Array.isArray(result) ? result.at(-1)! : result;
}

// ---------------------------------------------------------------------------------------
// The verdict: against the baseline when there is one, otherwise against expect

function verdict(reading: Reading, spec: PostgresSpec, context: ProbeContext): Outcome {
  const extra = reading.detail ? { detail: reading.detail } : {};
  if (spec.baseline) return againstBaseline(reading, spec, context.baseline, extra);
  const expect = spec.expect ?? DEFAULT_EXPECT[spec.measure];
  return judge(comparable(reading.value, expect), reading.said, expect, extra);
}

function againstBaseline(
  reading: Reading,
  spec: PostgresSpec,
  baseline: Value | undefined,
  extra: Partial<Outcome>,
): Outcome {
  const label = spec.name ?? reading.subject;
  const value = comparable(reading.value, NUMBER);
  const tolerance = spec.baseline?.tolerance;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance)) {
    return { ...extra, phase: "error", value, message: "baseline.tolerance must be a percentage, e.g. 2%" };
  }
  if (typeof value !== "number") {
    return {
      ...extra,
      phase: "error",
      value,
      message: `${label} is ${show(value)}, not a number; a baseline compares numbers`,
    };
  }
  if (baseline === undefined) {
    const state: PostgresState = { baseline: value };
    return {
      ...extra,
      phase: "successful",
      value,
      message: `baseline captured: ${label} = ${num(value)}`,
      state,
    };
  }
  if (typeof baseline !== "number" || !Number.isFinite(baseline)) {
    return {
      ...extra,
      phase: "error",
      value,
      message: `the baseline of ${label} before the deploy is ${show(baseline)}, not a number`,
    };
  }
  const change =
    baseline === 0 ? (value === 0 ? 0 : Number.POSITIVE_INFINITY) : (value - baseline) / baseline;
  const changed = Number.isFinite(change)
    ? `${change >= 0 ? "+" : "−"}${Math.abs(change * 100).toFixed(1)}%`
    : "up from 0";
  const within = Math.abs(change) <= tolerance + 1e-12;
  const message =
    `${label} ${num(value)} vs ${num(baseline)} before the deploy (${changed}), ` +
    `${within ? "within" : "tolerance"} ±${percent(tolerance)}`;
  return {
    ...extra,
    phase: within ? "successful" : "failed",
    value,
    message,
    detail: { ...extra.detail, baseline, change: Number.isFinite(change) ? change : null, tolerance },
  };
}

const NUMBER = comparison("== 0");

/**
 * A value in the kind `expect` compares: a version column of type text ("20240101") against
 * `== 20240101`, a number against a word. Lossless conversions only.
 */
function comparable(value: Value, expect: Comparison | undefined): Value {
  if (!expect) return value;
  if (expect.operand.kind === "number" && typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  if (expect.operand.kind === "string" && typeof value === "number") return String(value);
  return value;
}

// ---------------------------------------------------------------------------------------
// The connection

/**
 * Connects, runs `work` and closes. Errors become an `error` naming `what`; an abort (timeout
 * or cancel) cuts the connection.
 */
async function session(
  url: string,
  signal: AbortSignal,
  what: string,
  work: (client: pg.Client, started: number) => Promise<Outcome>,
): Promise<Outcome> {
  // No pg timers (connectionTimeoutMillis, query_timeout): `bounded` enforces the probe's
  // timeout, with its own message, and aborts `signal`.
  const client = new pg.Client({ connectionString: url, application_name: "gantry-probe" });
  // Without a listener, an error on an idle connection would throw out of the event loop.
  client.on("error", () => undefined);
  const cut = () => destroy(client);
  signal.addEventListener("abort", cut, { once: true });
  try {
    const started = performance.now();
    await client.connect();
    return await work(client, started);
  } catch (err) {
    return { phase: "error", message: `${what}: ${problem(err)}` };
  } finally {
    signal.removeEventListener("abort", cut);
    close(client);
  }
}

/** Says goodbye without waiting for it; a server that keeps the connection is cut off after a second. */
function close(client: pg.Client): void {
  const timer = setTimeout(() => destroy(client), 1000);
  timer.unref();
  client
    .end()
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
}

function destroy(client: pg.Client): void {
  const connection = client.connection as unknown as { _ending?: boolean; stream?: { destroy(): void } };
  connection._ending = true;
  connection.stream?.destroy();
}

/** What went wrong, in words; a server error keeps its SQLSTATE. */
function problem(err: unknown): string {
  const e = err as { code?: unknown; severity?: unknown; hint?: unknown } | undefined;
  if (typeof e?.severity === "string" && typeof e.code === "string") {
    const hint = typeof e.hint === "string" && e.hint ? `; ${e.hint}` : "";
    return `${errorText(err)} (SQLSTATE ${e.code})${hint}`;
  }
  const text = networkProblem(err);
  if (text === "Connection terminated unexpectedly") {
    return "the server closed the connection unexpectedly (is this a Postgres server?)";
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
    return "the database URL is not a valid postgres:// URL (percent-encode special characters in the password)";
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    return `unsupported database URL scheme ${u.protocol} (use postgres:// or postgresql://)`;
  }
  if (!u.hostname) return "the database URL has no host";
  const secrets: string[] = [];
  const keep = (s: string) => {
    if (s) secrets.push(s);
    try {
      if (s) secrets.push(decodeURIComponent(s));
    } catch {
      // Not percent-encoded: the raw text is enough.
    }
  };
  if (u.password) {
    keep(u.password);
    u.password = "***";
  }
  for (const [key, value] of [...u.searchParams]) {
    if (!/pass/i.test(key)) continue;
    keep(value);
    u.searchParams.set(key, "***");
  }
  return { shown: u.toString(), secrets: [...new Set(secrets)].sort((a, b) => b.length - a.length) };
}

// ---------------------------------------------------------------------------------------
// Formatting

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${num(ms / 1000)}s`;
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
