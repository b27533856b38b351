/**
 * The environment's database as migrations see it: a ledger table recording which files are
 * applied (with their checksum and the run that applied them), the built-in runner for plain
 * .sql files, and the queries a rollback needs (what would be lost, the schema version).
 *
 * The ledger lives in the migrated database itself, so a restore from a dump taken before the
 * deploy restores the ledger too, and what it says always matches the schema.
 */
import { parseSync } from "libpg-query";
import pg from "pg";
import type { MigrationFile } from "./files.js";
import type { StatementInfo } from "./lint.js";

export interface LedgerRow {
  name: string;
  checksum: string;
  phase: string;
  appliedAt: string;
  runId: string | null;
}

/** What the ledger says about a migration set. */
export interface MigrationStatus {
  applied: MigrationFile[];
  pending: MigrationFile[];
  /** Applied files whose content changed since: refused. */
  changed: Array<{ file: MigrationFile; row: LedgerRow }>;
  /** Ledger rows whose file is no longer in the folder. */
  missing: LedgerRow[];
}

export function compareWithLedger(files: MigrationFile[], ledger: Map<string, LedgerRow>): MigrationStatus {
  const status: MigrationStatus = { applied: [], pending: [], changed: [], missing: [] };
  for (const f of files) {
    const row = ledger.get(f.name);
    if (!row) status.pending.push(f);
    else if (row.checksum !== f.checksum) status.changed.push({ file: f, row });
    else status.applied.push(f);
  }
  const names = new Set(files.map((f) => f.name));
  for (const row of ledger.values()) if (!names.has(row.name)) status.missing.push(row);
  return status;
}

/** The sentence a refused change gets: which file, when it was applied, what to do. */
export function changedMessage(changed: MigrationStatus["changed"]): string {
  return changed
    .map(
      ({ file, row }) =>
        `${file.file} was changed after it was applied (${row.appliedAt}${row.runId ? ` by run ${row.runId}` : ""}): its checksum is ${file.checksum.slice(0, 12)}, the ledger has ${row.checksum.slice(0, 12)}; restore the file and put the change in a new migration`,
    )
    .join("; ");
}

/** A failure inside a migration file, with the file's line and column when Postgres gave a position. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}:${column ?? 1}` : ""}: ${message}`);
  }
}

export class MigrationDatabase {
  private readonly table: string;

  private constructor(
    private readonly client: pg.Client,
    table: string,
  ) {
    this.table = table
      .split(".")
      .map((p) => `"${p}"`)
      .join(".");
  }

  /** Connects; the URL's password never appears in an error (the pg driver leaves it out). */
  static async connect(url: string, table: string): Promise<MigrationDatabase> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
    client.on("error", () => undefined);
    await client.connect();
    return new MigrationDatabase(client, table);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /** Creates the ledger table (and its schema) when it is not there. */
  async ensureLedger(): Promise<void> {
    const schema = this.table.includes(".") ? this.table.slice(0, this.table.indexOf(".")) : undefined;
    if (schema) await this.client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await this.client.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         name text PRIMARY KEY,
         checksum text NOT NULL,
         phase text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
         run_id text
       )`,
    );
  }

  /** The ledger; empty when the table does not exist yet (nothing was ever applied). */
  async ledger(): Promise<Map<string, LedgerRow>> {
    const exists = await this.client.query("SELECT to_regclass($1) IS NOT NULL AS ok", [this.table]);
    if (!exists.rows[0]?.ok) return new Map();
    const r = await this.client.query(
      `SELECT name, checksum, phase, applied_at, run_id FROM ${this.table} ORDER BY applied_at, name`,
    );
    return new Map(
      r.rows.map((row) => [
        row.name,
        {
          name: row.name,
          checksum: row.checksum,
          phase: row.phase,
          appliedAt: (row.applied_at as Date).toISOString(),
          runId: row.run_id,
        },
      ]),
    );
  }

  /** Migrations a run applied, latest first: what its rollback may undo, and nothing else. */
  async appliedBy(runId: string): Promise<LedgerRow[]> {
    const all = [...(await this.ledger()).values()].filter((r) => r.runId === runId);
    return all.reverse();
  }

  /** Serialises migrations across processes: one Gantry migrates a database at a time. */
  async lock(): Promise<void> {
    await this.client.query("SELECT pg_advisory_lock(hashtext($1))", [`gantry:${this.table}`]);
  }

  async unlock(): Promise<void> {
    await this.client.query("SELECT pg_advisory_unlock(hashtext($1))", [`gantry:${this.table}`]);
  }

  /**
   * Applies one .sql file and records it. A file whose statements may run in a transaction
   * runs in one, with its ledger row: a failure leaves the database as it was before the file.
   * Otherwise (CREATE INDEX CONCURRENTLY, VACUUM …) it runs statement by statement.
   */
  async apply(f: MigrationFile, runId: string): Promise<{ transactional: boolean }> {
    const statements = f.analysis?.statements ?? [];
    const transactional = statements.every((s) => s.transactional);
    if (transactional) {
      await this.inTransaction(f.file, f.text, () =>
        this.client.query(
          `INSERT INTO ${this.table} (name, checksum, phase, run_id) VALUES ($1, $2, $3, $4)`,
          [f.name, f.checksum, f.phase, runId],
        ),
      );
      return { transactional };
    }
    for (const { text, offset } of splitStatements(f.text)) {
      try {
        await this.client.query(text);
      } catch (e) {
        throw located(e, f.file, f.text, offset, "earlier statements of this file stay applied");
      }
    }
    await this.record(f, runId);
    return { transactional };
  }

  /** Records a file applied by another tool (the command runner). */
  async record(f: MigrationFile, runId: string): Promise<void> {
    await this.client.query(
      `INSERT INTO ${this.table} (name, checksum, phase, run_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, run_id = EXCLUDED.run_id, applied_at = clock_timestamp()`,
      [f.name, f.checksum, f.phase, runId],
    );
  }

  /** Runs a migration's rollback script and removes its ledger row, in one transaction. */
  async revert(name: string, script: { file: string; text: string }): Promise<void> {
    await this.inTransaction(script.file, script.text, () =>
      this.client.query(`DELETE FROM ${this.table} WHERE name = $1`, [name]),
    );
  }

  private async inTransaction(file: string, text: string, then: () => Promise<unknown>): Promise<void> {
    await this.client.query("BEGIN");
    try {
      try {
        await this.client.query(text);
      } catch (e) {
        throw located(e, file, text, 0, "the file was rolled back");
      }
      await then();
      await this.client.query("COMMIT");
    } catch (e) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }

  /** The schema version: `query`'s first column, or the latest file in the ledger. */
  async schemaVersion(query: string | undefined): Promise<string | null> {
    if (query) {
      const r = await this.client.query({ text: query, rowMode: "array" });
      const v = r.rows[0]?.[0];
      return v === undefined || v === null ? null : String(v);
    }
    const rows = [...(await this.ledger()).values()];
    return rows.length ? rows.sort((a, b) => a.name.localeCompare(b.name)).at(-1)!.name : null;
  }

  /** Estimated rows per table (pg_class.reltuples), by bare and schema-qualified name, for the lint. */
  async tableRows(): Promise<Map<string, number>> {
    const r = await this.client.query(
      `SELECT n.nspname AS schema, c.relname AS name, GREATEST(c.reltuples, 0)::bigint AS rows
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
    );
    const out = new Map<string, number>();
    for (const row of r.rows) {
      const rows = Number(row.rows);
      out.set(`${row.schema}.${row.name}`, rows);
      if (!out.has(row.name) || row.schema === "public") out.set(row.name, rows);
    }
    return out;
  }

  /** What dropping these tables and columns would lose now, e.g. "table audit_log (12 rows)". */
  async lossOf(drops: StatementInfo["drops"]): Promise<string[]> {
    const out: string[] = [];
    for (const d of drops) {
      const table = quoteName(d.table);
      try {
        const r = d.column
          ? await this.client.query(
              `SELECT count(*)::bigint AS n FROM ${table} WHERE ${quoteIdent(d.column)} IS NOT NULL`,
            )
          : await this.client.query(`SELECT count(*)::bigint AS n FROM ${table}`);
        const n = Number(r.rows[0]?.n ?? 0);
        out.push(
          d.column
            ? `column ${d.table}.${d.column} (${n} value${n === 1 ? "" : "s"})`
            : `table ${d.table} (${n} row${n === 1 ? "" : "s"})`,
        );
      } catch {
        out.push(d.column ? `column ${d.table}.${d.column} (not counted)` : `table ${d.table} (not counted)`);
      }
    }
    return out;
  }
}

/** The statements of a file with their character offsets, from the parser's byte locations. */
export function splitStatements(text: string): Array<{ text: string; offset: number }> {
  const bytes = Buffer.from(text, "utf8");
  return (parseSync(text).stmts ?? []).map((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    const offset = bytes.subarray(0, start).toString("utf8").length;
    return { text: bytes.subarray(start, end).toString("utf8"), offset };
  });
}

/** A Postgres error as `file:line:col: message (detail; hint) — what happened to the file`. */
function located(e: unknown, file: string, text: string, offset: number, after: string): MigrationError {
  const err = e as pg.DatabaseError;
  const position = Number(err.position);
  const extra = [err.detail, err.hint ? `hint: ${err.hint}` : undefined].filter(Boolean).join("; ");
  const message = `${err.message}${extra ? ` (${extra})` : ""}; ${after}`;
  if (!Number.isFinite(position) || position <= 0) return new MigrationError(message, file);
  const before = text.slice(0, offset + position - 1);
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return new MigrationError(message, file, line, column);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteName(name: string): string {
  return name.split(".").map(quoteIdent).join(".");
}
