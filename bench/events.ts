/**
 * Event log figures for `npm run bench`: what one append costs on an embedded Postgres, as the
 * engine makes them (one run, each awaited before the next): `EventStore.append`, which takes
 * the run's lock, reads its last hash and writes the chained row in one transaction, against
 * the single INSERT statement an append was before the hash chain. Both are timed in
 * alternating blocks of 200, so that a busy machine slows both alike.
 *
 * Alone: `npm run build && node dist/bench/events.js`.
 */
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { endPool, migrate } from "../src/store/database.js";
import { EventStore } from "../src/store/events.js";
import { startPostgres } from "../test/helpers/postgres-server.js";
import type { Row } from "./engine.js";

const APPENDS = 2000;
const BLOCK = 200;
const LINE = "migrating table orders: 41,200 of 120,000 rows copied (34%), 2.1 s elapsed";

/** The append before the hash chain: one statement, no lock, no hash. */
const UNCHAINED = `INSERT INTO gantry.events (run_id, key, at, kind, step, data)
  VALUES ($1, $2, COALESCE($3::timestamptz, now()), $4, $5, $6)
  ON CONFLICT (run_id, key) DO NOTHING
  RETURNING seq, at, EXISTS (
    SELECT 1 FROM gantry.events s
     WHERE s.run_id = $1 AND s.kind = 'control.sent'
       AND NOT EXISTS (SELECT 1 FROM gantry.events d WHERE d.run_id = $1 AND d.key = 'control:' || (s.data->>'id'))
  ) AS pending`;

export async function eventRows(): Promise<Row[]> {
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 8 });
  pool.on("error", () => undefined);
  try {
    await migrate(pool);
    const store = new EventStore(pool);
    const chained = async (i: number) => {
      await store.append("bench-chained", {
        key: `out:${i}`,
        kind: "output",
        step: "migrate",
        data: { line: LINE },
      });
    };
    const plain = async (i: number) => {
      await pool.query(UNCHAINED, ["bench-plain", `out:${i}`, null, "output", "migrate", { line: LINE }]);
    };
    // Warm up both paths (connections, plans, the table's first pages).
    for (let i = 0; i < BLOCK; i++) {
      await chained(-1 - i);
      await plain(-1 - i);
    }
    let chainedMs = 0;
    let plainMs = 0;
    for (let block = 0; block < APPENDS / BLOCK; block++) {
      let t = performance.now();
      for (let i = block * BLOCK; i < (block + 1) * BLOCK; i++) await chained(i);
      chainedMs += performance.now() - t;
      t = performance.now();
      for (let i = block * BLOCK; i < (block + 1) * BLOCK; i++) await plain(i);
      plainMs += performance.now() - t;
    }
    const per = (ms: number) => `${((ms / APPENDS) * 1000).toFixed(0)} µs/append`;
    return [
      [
        `event log: ${APPENDS} appends to one run, each awaited, with the hash chain (embedded Postgres)`,
        `${chainedMs.toFixed(0)} ms (${per(chainedMs)}, ${(chainedMs / plainMs).toFixed(2)}× the unchained insert)`,
        "printed",
        "node dist/bench/events.js",
      ],
      [
        `event log: the same ${APPENDS} as the one INSERT an append was before the chain`,
        `${plainMs.toFixed(0)} ms (${per(plainMs)})`,
        "printed",
        "node dist/bench/events.js",
      ],
    ];
  } finally {
    await endPool(pool, 2000);
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [what, value, , command] of await eventRows()) {
    process.stdout.write(`${what}\n  ${value}   $ ${command}\n`);
  }
}
