/**
 * What a release does with its migrations, one function per step: the pre-flight (lint and
 * ledger), applying a phase, stating what a rollback would lose, and undoing this run's
 * migrations. Each returns a plain result the engine records; none throws for a failure a
 * person can act on.
 */
import path from "node:path";
import { formatMs } from "../exec/command.js";
import type { MigrationsSpec as Migrations } from "../runbook/schema/runbook.js";
import { checkMigrations, formatProblem } from "./check.js";
import { changedMessage, compareWithLedger, MigrationDatabase, type MigrationStatus } from "./database.js";
import { type MigrationFile, type MigrationSet, type Phase, readMigrations } from "./files.js";
import { loadSqlParser } from "./lint.js";

export interface MigrationResult {
  ok: boolean;
  message: string;
  data?: Record<string, unknown>;
}

export interface MigrationTarget {
  migrations: Migrations;
  /** The runbook's folder. */
  dir: string;
  /** The environment's database URL, secrets filled in. */
  url: string;
  /** The query reading the schema version (migrations.schemaVersion or the environment's). */
  versionQuery?: string;
}

/** Reads the migration files (the parser loaded), with table sizes from `db` for the index rule. */
export async function loadSet(t: MigrationTarget, db?: MigrationDatabase): Promise<MigrationSet> {
  await loadSqlParser();
  const tableRows = db ? await db.tableRows() : undefined;
  return readMigrations(t.migrations, t.dir, tableRows ? { tableRows } : {});
}

export async function withDatabase<T>(
  t: MigrationTarget,
  body: (db: MigrationDatabase) => Promise<T>,
): Promise<T> {
  const db = await MigrationDatabase.connect(t.url, t.migrations.table);
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

/** Pre-flight: the lint is clean, and no applied file changed since. Counts what is pending. */
export async function preflight(t: MigrationTarget): Promise<MigrationResult> {
  return withDatabase(t, async (db) => {
    const set = await loadSet(t, db);
    const errors = checkMigrations(t.migrations, set).filter((p) => p.severity === "error");
    const status = compareWithLedger(set.files, await db.ledger());
    const problems = [
      ...errors.map(formatProblem),
      ...(status.changed.length ? [changedMessage(status.changed)] : []),
    ];
    const pending = counts(status);
    const mismatch =
      t.migrations.schemaVersion?.expect === LEDGER ? await ledgerCheck(db, t.versionQuery) : undefined;
    if (mismatch)
      problems.push(
        `${mismatch}: a migration was applied or undone outside Gantry; find out which before releasing`,
      );
    if (problems.length > 0) {
      return {
        ok: false,
        message: `${problems.length} migration problem${problems.length === 1 ? "" : "s"}: ${problems.join("; ")}`,
        data: { pending, problems },
      };
    }
    return {
      ok: true,
      message: `lint clean; pending: ${pending.expand} expand, ${pending.contract} contract; ${status.applied.length} already applied`,
      data: { pending },
    };
  });
}

/** `migrations.schemaVersion.expect: ledger`: the version is the ledger's newest applied migration. */
export const LEDGER = "ledger";

/**
 * Why `version` is not the ledger's newest applied migration, or undefined when it is. The
 * version may be written as the file's name (0002_exports.sql), without `.sql`, or as the
 * number the name starts with (0002). The newest is the last by file name: files apply in order.
 */
export function ledgerMismatch(
  version: string | null,
  ledger: Map<string, { name: string }>,
): string | undefined {
  const base = (name: string) => path.basename(name).replace(/\.sql$/i, "");
  const newest = [...ledger.keys()].sort((a, b) => base(a).localeCompare(base(b))).at(-1);
  const v = version?.trim() ?? null;
  if (newest === undefined)
    return v === null ? undefined : `schema version is ${v}, and Gantry's ledger has no applied migration`;
  const forms = [newest, base(newest), /^(\d+)/.exec(base(newest))?.[1]];
  if (v !== null && forms.includes(v)) return undefined;
  return `schema version is ${v ?? "(none)"}, but the newest migration Gantry's ledger records as applied is ${base(newest)}`;
}

/**
 * Why the database's schema version is not the ledger's newest migration, or undefined. A query
 * that fails (its table not created yet, or dropped by the last rollback script) is no version,
 * which is right for a ledger with nothing applied.
 */
async function ledgerCheck(db: MigrationDatabase, query: string | undefined): Promise<string | undefined> {
  const ledger = await db.ledger();
  let version: string | null;
  try {
    version = await db.schemaVersion(query);
  } catch (e) {
    if (ledger.size === 0) return undefined;
    return `cannot read the schema version (migrations.schemaVersion.query): ${(e as Error).message}`;
  }
  return ledgerMismatch(version, ledger);
}

export interface ApplyOptions {
  runId: string;
  /** Applies one file with the team's tool (runner: command); absent for the sql runner. */
  command?: (file: MigrationFile) => Promise<{ ok: boolean; message: string }>;
  /** The schema version this phase must leave, when the runbook says. */
  expectVersion?: string;
  /** Progress lines for the run's log. */
  onLine?: (line: string) => void;
}

/**
 * Applies the pending files of one phase in order. Refuses to start when an applied file
 * changed. Stops at the first failure: that file is rolled back (the sql runner) and files
 * before it stay applied and recorded.
 */
export async function applyPhase(
  t: MigrationTarget,
  phase: Phase,
  o: ApplyOptions,
): Promise<MigrationResult> {
  return withDatabase(t, async (db) => {
    await db.ensureLedger();
    await db.lock();
    try {
      const set = await loadSet(t);
      if (set.problem) return { ok: false, message: set.problem };
      const status = compareWithLedger(set.files, await db.ledger());
      if (status.changed.length > 0)
        return { ok: false, message: `refused: ${changedMessage(status.changed)}` };
      const pending = status.pending.filter((f) => f.phase === phase);
      const unparsed = pending.find((f) => f.analysis?.parseError);
      if (unparsed) {
        const e = unparsed.analysis!.parseError!;
        return { ok: false, message: `${unparsed.file}:${e.line}:${e.column}: does not parse: ${e.message}` };
      }
      const applied: string[] = [];
      for (const f of pending) {
        const started = Date.now();
        try {
          if (o.command) {
            const r = await o.command(f);
            if (!r.ok) throw new Error(`${f.file}: ${r.message}`);
            await db.record(f, o.runId);
          } else {
            await db.apply(f, o.runId);
          }
        } catch (e) {
          const done = applied.length ? `; applied before it: ${applied.join(", ")}` : "";
          return {
            ok: false,
            message: `${phase} migration failed: ${(e as Error).message}${done}`,
            data: { applied, failed: f.name },
          };
        }
        applied.push(f.name);
        o.onLine?.(`applied ${f.file} (${formatMs(Date.now() - started)})`);
      }
      const version = await db.schemaVersion(t.versionQuery);
      if (o.expectVersion === LEDGER) {
        const mismatch = await ledgerCheck(db, t.versionQuery);
        if (mismatch)
          return { ok: false, message: `${phase}: ${mismatch}`, data: { applied, schemaVersion: version } };
      }
      const base = applied.length
        ? `applied ${applied.length} ${phase} migration${applied.length === 1 ? "" : "s"}: ${applied.join(", ")}`
        : `no pending ${phase} migrations`;
      if (o.expectVersion !== undefined && o.expectVersion !== LEDGER && version !== o.expectVersion) {
        return {
          ok: false,
          message: `${base}; schema version is ${version ?? "(none)"}, expected ${o.expectVersion}`,
          data: { applied, schemaVersion: version },
        };
      }
      return {
        ok: true,
        message: `${base}; schema version ${version ?? "(none)"}`,
        data: { applied, schemaVersion: version },
      };
    } finally {
      await db.unlock().catch(() => undefined);
    }
  });
}

/**
 * What undoing this run's migrations would lose, in one sentence. Down scripts lose what they
 * drop (counted now: every row of a table this release created, every value of a column it
 * added, was written after the deploy); a restore loses every write since the backup.
 */
export async function lossStatement(
  t: MigrationTarget,
  runId: string,
  strategy: "down" | "restore",
  backup: { id?: string; at?: string } | undefined,
  now: number,
): Promise<{ applied: string[]; statement: string; losesData: boolean }> {
  return withDatabase(t, async (db) => {
    const applied = (await db.appliedBy(runId)).map((r) => r.name);
    if (applied.length === 0) {
      return {
        applied,
        statement: "this release applied no migrations; the schema is unchanged",
        losesData: false,
      };
    }
    if (strategy === "restore") {
      const since = backup?.at ? ` taken at ${backup.at} (${formatMs(now - Date.parse(backup.at))} ago)` : "";
      return {
        applied,
        statement: `restoring the backup${backup?.id ? ` ${backup.id}` : ""}${since} discards every write to the database since then, in every table`,
        losesData: true,
      };
    }
    const set = await loadSet(t);
    const byName = new Map(set.files.map((f) => [f.name, f]));
    const drops = applied.flatMap(
      (n) => byName.get(n)?.rollback?.analysis?.statements.flatMap((s) => s.drops) ?? [],
    );
    const others = applied.flatMap(
      (n) =>
        byName
          .get(n)
          ?.rollback?.analysis?.findings.filter(
            (f) => f.class === "destructive" && !f.rule.startsWith("drop-"),
          )
          .map((f) => `${f.file}:${f.line}: ${f.message}`) ?? [],
    );
    const lost = await db.lossOf(drops);
    const parts = [
      lost.length
        ? `the down scripts drop ${lost.join(", ")}: data written there since the deploy is lost`
        : "",
      others.length ? `they also run ${others.join("; ")}` : "",
    ].filter(Boolean);
    return {
      applied,
      statement: parts.length ? parts.join("; ") : "the down scripts drop no table or column that holds data",
      losesData: lost.some((l) => !/\(0 (rows|values)\)$/.test(l)) || others.length > 0,
    };
  });
}

/** Runs the down scripts of the migrations this run applied, latest first; never any other. */
export async function revertRun(
  t: MigrationTarget,
  runId: string,
  onLine?: (line: string) => void,
): Promise<MigrationResult> {
  return withDatabase(t, async (db) => {
    await db.lock();
    try {
      const rows = await db.appliedBy(runId);
      if (rows.length === 0)
        return { ok: true, message: "this release applied no migrations; nothing to undo" };
      const set = await loadSet(t);
      const byName = new Map(set.files.map((f) => [f.name, f]));
      const reverted: string[] = [];
      for (const row of rows) {
        const script = byName.get(row.name)?.rollback;
        if (!script) {
          return {
            ok: false,
            message: `${row.name} has no rollback script${reverted.length ? ` (reverted before it: ${reverted.join(", ")})` : ""}; restore the backup instead`,
            data: { reverted },
          };
        }
        try {
          await db.revert(row.name, script);
        } catch (e) {
          return {
            ok: false,
            message: `down script failed: ${(e as Error).message}${reverted.length ? `; reverted before it: ${reverted.join(", ")}` : ""}`,
            data: { reverted },
          };
        }
        reverted.push(row.name);
        onLine?.(`reverted ${row.name} with ${script.file}`);
      }
      // The last rollback script may drop the table the version is read from.
      const version = await db.schemaVersion(t.versionQuery).catch(() => null);
      const mismatch =
        t.migrations.schemaVersion?.expect === LEDGER ? await ledgerCheck(db, t.versionQuery) : undefined;
      return {
        ok: mismatch === undefined,
        message: `reverted ${reverted.join(", ")}; ${mismatch ?? `schema version ${version ?? "(none)"}`}`,
        data: { reverted, schemaVersion: version },
      };
    } finally {
      await db.unlock().catch(() => undefined);
    }
  });
}

/** The schema version now, for the record after a restore. */
export async function schemaVersion(t: MigrationTarget): Promise<string | null> {
  return withDatabase(t, (db) => db.schemaVersion(t.versionQuery));
}

/** After a restore: the schema version, and why it is not the ledger's when the runbook expects that. */
export async function restoredVersion(
  t: MigrationTarget,
): Promise<{ version: string | null; mismatch?: string }> {
  return withDatabase(t, async (db) => {
    const version = await db.schemaVersion(t.versionQuery).catch(() => null);
    const mismatch =
      t.migrations.schemaVersion?.expect === LEDGER ? await ledgerCheck(db, t.versionQuery) : undefined;
    return { version, ...(mismatch ? { mismatch } : {}) };
  });
}

/** Pending and applied files for `gantry migrations plan`. */
export async function status(t: MigrationTarget): Promise<{ set: MigrationSet; status: MigrationStatus }> {
  return withDatabase(t, async (db) => {
    const set = await loadSet(t, db);
    return { set, status: compareWithLedger(set.files, await db.ledger()) };
  });
}

function counts(s: MigrationStatus): Record<Phase, number> {
  return {
    expand: s.pending.filter((f) => f.phase === "expand").length,
    contract: s.pending.filter((f) => f.phase === "contract").length,
  };
}
