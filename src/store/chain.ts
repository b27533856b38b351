/**
 * The hash chain of the event log. Every log (a run's, and the log of actions outside runs)
 * is one chain: each record carries `prev_hash`, the hash of the record before it in its log,
 * and `hash`, computed here in Node from `prev_hash` and the record's own content, never by
 * the database — a row written into gantry.events by anything but Gantry has no valid hash.
 *
 *   hash = sha256(prev_hash + "\n" + canonical JSON of {run, key, at, kind, step, data})
 *
 * The first record of a log has no `prev_hash` (it hashes as ""). Canonical JSON has its keys
 * sorted at every level, so what is read back from jsonb hashes exactly as what was written.
 * `at` is hashed as Postgres keeps it: UTC, to the microsecond (`atText`).
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { withRetry } from "./database.js";

/** What a record's hash covers. */
export interface ChainContent {
  run: string;
  key: string;
  /** As `atText` writes it, e.g. `2025-10-07T14:00:00.123456Z`. */
  at: string;
  kind: string;
  step: string | null;
  data: unknown;
}

/** A record of a log as the chain sees it, read back from gantry.events. */
export interface ChainRow extends ChainContent {
  seq: number;
  prevHash: string | null;
  hash: string | null;
}

/** The advisory lock space of the per-log append lock (beside the schema's 7411, 0 and the executor's 7411, 1). */
export const CHAIN_LOCK_SPACE = 7412;

/** A timestamptz expression as the chain hashes it: UTC with microseconds, the precision Postgres keeps. */
export function atText(expression: string): string {
  return `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/**
 * JSON with the keys of every object sorted, after the same conversion `JSON.stringify` (and
 * so node-postgres) applies: `toJSON`, undefined properties left out.
 *
 * @example canonicalJson({ b: 1, a: { d: [2], c: null } }) // '{"a":{"c":null,"d":[2]},"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const plain = JSON.stringify(value);
  return plain === undefined ? "null" : write(JSON.parse(plain));
}

function write(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(write).join(",")}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(object[k])}`).join(",")}}`;
}

/** The hash of a record whose predecessor's hash is `prev` (null for the first record of its log). */
export function chainHash(prev: string | null, content: ChainContent): string {
  const { run, key, at, kind, step, data } = content;
  return createHash("sha256")
    .update(`${prev ?? ""}\n${canonicalJson({ run, key, at, kind, step, data })}`)
    .digest("hex");
}

/** The second key of a log's append lock: 32 bits of the sha256 of its id. */
export function chainLockKey(log: string): number {
  return createHash("sha256").update(log).digest().readInt32BE(0);
}

/** Every log in the database with its number of records, in the order they began. */
export async function chainLogs(pool: pg.Pool): Promise<Array<{ log: string; records: number }>> {
  const result = await withRetry(() =>
    pool.query<{ run_id: string; records: number }>(
      "SELECT run_id, count(*)::int AS records FROM gantry.events GROUP BY run_id ORDER BY min(seq)",
    ),
  );
  return result.rows.map((r) => ({ log: r.run_id, records: r.records }));
}

/** The records of one log in seq order, read a page at a time. */
export async function* chainRows(pool: pg.Pool, log: string, pageSize = 1000): AsyncGenerator<ChainRow> {
  let after = 0;
  for (;;) {
    const result = await withRetry(() =>
      pool.query<{
        seq: string;
        key: string;
        at: string;
        kind: string;
        step: string | null;
        data: unknown;
        prev_hash: string | null;
        hash: string | null;
      }>(
        `SELECT seq, key, ${atText("at")} AS at, kind, step, data, prev_hash, hash
           FROM gantry.events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [log, after, pageSize],
      ),
    );
    for (const r of result.rows) {
      yield {
        seq: Number(r.seq),
        run: log,
        key: r.key,
        at: r.at,
        kind: r.kind,
        step: r.step,
        data: r.data,
        prevHash: r.prev_hash,
        hash: r.hash,
      };
    }
    if (result.rows.length < pageSize) return;
    after = Number(result.rows.at(-1)!.seq);
  }
}
