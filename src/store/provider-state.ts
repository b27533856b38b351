/**
 * Deploy provider state in Postgres (the contract: src/providers/state-store.ts): one row in
 * gantry.deployments per service and environment (what serves, the last known good version)
 * and one row in gantry.deploy_entries per real deploy or rollback, keyed by the step's
 * idempotency key. Every gantry process on the same database sees the same truth.
 *
 * Each write is one transaction. A transaction retried after a dropped connection (Postgres
 * restarting) is not applied twice: `begin` carries an attempt id of its own, unique in the
 * table, and the other writes set values rather than add them.
 *
 * Upgrading from 0.4: when the database holds nothing for the service and environment yet and
 * the old `state.json` (`legacyFile`) exists, its current version, last known good version and
 * deploy entries are imported once, in one transaction.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type pg from "pg";
import { withRetry } from "./database.js";
import type {
  DeployEntry,
  DeployState,
  NewDeployEntry,
  ProviderStateStore,
  Serving,
} from "./provider-state-store.js";

export interface ProviderStateOptions {
  /** The 0.4 `state.json` of this service and environment, imported once when the database has no record yet. */
  legacyFile?: string;
}

interface EntryRow {
  key: string;
  version: string;
  action: DeployEntry["action"];
  result: DeployEntry["result"];
  started_at: Date;
  finished_at: Date | null;
  message: string | null;
  previous_version: string | null;
}

const ENTRY_COLUMNS = "key, version, action, result, started_at, finished_at, message, previous_version";

export class PostgresProviderState implements ProviderStateStore {
  readonly where: string;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    readonly service: string,
    readonly environment: string,
    private readonly options: ProviderStateOptions = {},
  ) {
    this.where = `Postgres (gantry.deployments, ${service} in ${environment})`;
  }

  /** Services with a record in `environment`, by name. */
  static async services(pool: pg.Pool, environment: string): Promise<string[]> {
    const result = await withRetry(() =>
      pool.query<{ service: string }>(
        "SELECT service FROM gantry.deployments WHERE environment = $1 ORDER BY service",
        [environment],
      ),
    );
    return result.rows.map((r) => r.service);
  }

  async read(): Promise<DeployState> {
    await this.imported();
    const result = await withRetry(() =>
      this.pool.query<{ current_version: string | null; last_known_good: string | null; updated_at: Date }>(
        "SELECT current_version, last_known_good, updated_at FROM gantry.deployments WHERE service = $1 AND environment = $2",
        [this.service, this.environment],
      ),
    );
    const row = result.rows[0];
    const latest = (await this.entries(1))[0];
    return {
      ...(row?.current_version ? { current: row.current_version } : {}),
      ...(row?.last_known_good ? { lastKnownGood: row.last_known_good } : {}),
      ...(row ? { updatedAt: row.updated_at.toISOString() } : {}),
      ...(latest ? { latest } : {}),
    };
  }

  async entry(key: string): Promise<DeployEntry | undefined> {
    await this.imported();
    const result = await withRetry(() =>
      this.pool.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM gantry.deploy_entries
          WHERE service = $1 AND environment = $2 AND key = $3 ORDER BY id DESC LIMIT 1`,
        [this.service, this.environment, key],
      ),
    );
    return result.rows[0] ? toEntry(result.rows[0]) : undefined;
  }

  async entries(limit = 100): Promise<DeployEntry[]> {
    await this.imported();
    const result = await withRetry(() =>
      this.pool.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM (
           SELECT id, ${ENTRY_COLUMNS} FROM gantry.deploy_entries
            WHERE service = $1 AND environment = $2 ORDER BY id DESC LIMIT $3
         ) latest ORDER BY id`,
        [this.service, this.environment, limit],
      ),
    );
    return result.rows.map(toEntry);
  }

  async begin(entry: NewDeployEntry, serving?: Serving): Promise<void> {
    await this.imported();
    const attempt = randomUUID();
    await this.transaction(async (client) => {
      await this.upsert(client, serving);
      const inserted = await client.query(
        `INSERT INTO gantry.deploy_entries (service, environment, key, action, version, result, previous_version, attempt)
         VALUES ($1, $2, $3, $4, $5, 'in-progress', $6, $7)
         ON CONFLICT (attempt) DO NOTHING`,
        [
          this.service,
          this.environment,
          entry.key,
          entry.action,
          entry.version,
          entry.previousVersion ?? null,
          attempt,
        ],
      );
      // A retry of a transaction that did commit: the earlier entries were marked then.
      if (inserted.rowCount === 0) return;
      await client.query(
        `UPDATE gantry.deploy_entries SET result = 'interrupted'
          WHERE service = $1 AND environment = $2 AND key = $3 AND result = 'in-progress' AND attempt IS DISTINCT FROM $4`,
        [this.service, this.environment, entry.key, attempt],
      );
    });
  }

  async finish(key: string, result: "ok" | "failed", message: string, serving?: Serving): Promise<void> {
    await this.imported();
    await this.transaction(async (client) => {
      await client.query(
        `UPDATE gantry.deploy_entries SET result = $4, message = $5, finished_at = now()
          WHERE id = (SELECT max(id) FROM gantry.deploy_entries WHERE service = $1 AND environment = $2 AND key = $3)`,
        [this.service, this.environment, key, result, message],
      );
      await this.upsert(client, serving);
    });
  }

  async setCurrent(serving: string | null): Promise<void> {
    await this.imported();
    await this.transaction((client) => this.upsert(client, serving));
  }

  async lastKnownGood(): Promise<string | undefined> {
    return (await this.read()).lastKnownGood;
  }

  async markGood(version: string): Promise<void> {
    await this.imported();
    await withRetry(() =>
      this.pool.query(
        `INSERT INTO gantry.deployments (service, environment, last_known_good) VALUES ($1, $2, $3)
         ON CONFLICT (service, environment) DO UPDATE SET last_known_good = $3, updated_at = now()`,
        [this.service, this.environment, version],
      ),
    );
  }

  async details(version: string): Promise<Record<string, unknown> | undefined> {
    const result = await withRetry(() =>
      this.pool.query<{ details: Record<string, unknown> }>(
        "SELECT details FROM gantry.deployed_versions WHERE service = $1 AND environment = $2 AND version = $3",
        [this.service, this.environment, version],
      ),
    );
    return result.rows[0]?.details;
  }

  async setDetails(version: string, details: Record<string, unknown>): Promise<void> {
    await withRetry(() =>
      this.pool.query(
        `INSERT INTO gantry.deployed_versions (service, environment, version, details) VALUES ($1, $2, $3, $4)
         ON CONFLICT (service, environment, version) DO UPDATE SET details = $4, recorded_at = now()`,
        [this.service, this.environment, version, JSON.stringify(details)],
      ),
    );
  }

  /** Makes sure the deployments row exists, and sets what serves unless `serving` is undefined. */
  private async upsert(client: pg.PoolClient, serving: Serving): Promise<void> {
    if (serving === undefined) {
      await client.query(
        `INSERT INTO gantry.deployments (service, environment) VALUES ($1, $2)
         ON CONFLICT (service, environment) DO NOTHING`,
        [this.service, this.environment],
      );
      return;
    }
    await client.query(
      `INSERT INTO gantry.deployments (service, environment, current_version) VALUES ($1, $2, $3)
       ON CONFLICT (service, environment) DO UPDATE SET current_version = $3, updated_at = now()`,
      [this.service, this.environment, serving],
    );
  }

  /** Runs `body` in one transaction, retried as a whole while Postgres is unreachable. */
  private transaction(body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    return withRetry(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        await body(client);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw e;
      } finally {
        client.release(broken);
      }
    });
  }

  /** The 0.4 import, once per instance (and once per database: it only fills an empty record). */
  private imported(): Promise<void> {
    this.ready ??= this.importLegacy().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async importLegacy(): Promise<void> {
    const file = this.options.legacyFile;
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    const known = await withRetry(() =>
      this.pool.query("SELECT 1 FROM gantry.deployments WHERE service = $1 AND environment = $2", [
        this.service,
        this.environment,
      ]),
    );
    if (known.rowCount) return;
    const legacy = parseLegacy(file, text);
    await this.transaction(async (client) => {
      const created = await client.query(
        `INSERT INTO gantry.deployments (service, environment, current_version, last_known_good) VALUES ($1, $2, $3, $4)
         ON CONFLICT (service, environment) DO NOTHING`,
        [this.service, this.environment, legacy.current ?? null, legacy.lastKnownGood ?? null],
      );
      // Another process imported it meanwhile.
      if (created.rowCount === 0) return;
      for (const e of legacy.deploys) {
        await client.query(
          `INSERT INTO gantry.deploy_entries
             (service, environment, key, action, version, result, started_at, finished_at, message, previous_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            this.service,
            this.environment,
            e.key,
            e.action,
            e.version,
            e.result,
            e.startedAt,
            e.finishedAt ?? null,
            e.message ?? null,
            e.previousVersion ?? null,
          ],
        );
      }
    });
  }
}

const ACTIONS = new Set(["deploy", "rollback"]);
const RESULTS = new Set(["in-progress", "ok", "failed", "interrupted"]);

/** What 0.4's state.json held that matters here; entries that do not read as entries are skipped. */
function parseLegacy(
  file: string,
  text: string,
): { current?: string; lastKnownGood?: string; deploys: DeployEntry[] } {
  let data: {
    current?: { version?: unknown };
    lastKnownGood?: unknown;
    deploys?: unknown;
  };
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${file} (provider state from Gantry 0.4, imported once) is not valid JSON (${(e as Error).message}); fix or remove it`,
    );
  }
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const deploys: DeployEntry[] = [];
  for (const raw of Array.isArray(data?.deploys) ? (data.deploys as Record<string, unknown>[]) : []) {
    const key = str(raw?.key);
    const version = str(raw?.version);
    const action = str(raw?.action);
    const result = str(raw?.result);
    const startedAt = str(raw?.startedAt);
    if (!key || !version || !action || !ACTIONS.has(action) || !result || !RESULTS.has(result)) continue;
    if (!startedAt || Number.isNaN(Date.parse(startedAt))) continue;
    const finishedAt = str(raw.finishedAt);
    deploys.push({
      key,
      version,
      action: action as DeployEntry["action"],
      result: result as DeployEntry["result"],
      startedAt,
      ...(finishedAt && !Number.isNaN(Date.parse(finishedAt)) ? { finishedAt } : {}),
      ...(str(raw.message) ? { message: str(raw.message)! } : {}),
      ...(str(raw.previousVersion) ? { previousVersion: str(raw.previousVersion)! } : {}),
    });
  }
  const current = str(data?.current?.version);
  const lastKnownGood = str(data?.lastKnownGood);
  return { ...(current ? { current } : {}), ...(lastKnownGood ? { lastKnownGood } : {}), deploys };
}

function toEntry(row: EntryRow): DeployEntry {
  return {
    key: row.key,
    version: row.version,
    action: row.action,
    result: row.result,
    startedAt: row.started_at.toISOString(),
    ...(row.finished_at ? { finishedAt: row.finished_at.toISOString() } : {}),
    ...(row.message !== null ? { message: row.message } : {}),
    ...(row.previous_version !== null ? { previousVersion: row.previous_version } : {}),
  };
}
