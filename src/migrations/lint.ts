/**
 * Migration lint: reads one migration file's SQL with the real PostgreSQL parser (libpg-query, WASM) and
 * reports the statements that are unsafe to run during a rolling release.
 *
 * Every finding has a class:
 * - destructive: loses data for good (DROP TABLE, DROP COLUMN, TRUNCATE, DELETE/UPDATE without WHERE,
 *   a type change that can truncate values). Needs a backup or an expand/contract plan.
 * - breaking: the new schema rejects what the old code, still running beside it, does (NOT NULL without
 *   DEFAULT, renames). Split into expand (additive) and contract (after the rollout) migrations.
 * - locking: blocks writes to a table while it runs (CREATE INDEX without CONCURRENTLY on a large table).
 *
 * Only top-level statements are analysed. The bodies of functions and DO blocks are opaque strings to the
 * parser, so a DROP TABLE inside `DO $$ … $$` or `CREATE FUNCTION … AS $$ … $$` is not reported.
 *
 * Positions: libpg-query gives statement locations as byte offsets into the UTF-8 text, but error cursor
 * positions as 0-based character (code point) offsets. Both are converted to 1-based line/column, the
 * column counted in code points. A leading byte order mark is ignored (Postgres rejects it).
 *
 * Pure apart from loading the parser: `await loadSqlParser()` once, then `analyzeSql` is synchronous.
 */
import type {
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  CreateStmt,
  DropStmt,
  IndexStmt,
  Node,
  RangeVar,
  ReindexStmt,
  RenameStmt,
  TruncateStmt,
  TypeName,
  VacuumStmt,
  WithClause,
} from "libpg-query";
import { loadModule, parseSync } from "libpg-query";

export type FindingRule =
  | "drop-table"
  | "drop-column"
  | "truncate"
  | "delete-without-where"
  | "update-without-where"
  | "narrowing-type-change"
  | "not-null-without-default"
  | "rename"
  | "index-without-concurrently";

/** destructive: loses data; breaking: old code running beside the new schema fails; locking: blocks writes while it runs. */
export type FindingClass = "destructive" | "breaking" | "locking";

export interface Finding {
  /** As passed to analyzeSql. */
  file: string;
  /** 1-based, of the first token of the offending statement. */
  line: number;
  /** 1-based, in characters (code points). */
  column: number;
  rule: FindingRule;
  class: FindingClass;
  /** What and where, e.g. "DROP COLUMN users.nickname loses the column's data". */
  message: string;
  /** A safer form. */
  suggestion: string;
  /** Schema-qualified when the SQL qualifies it. */
  table?: string;
}

export interface StatementInfo {
  line: number;
  column: number;
  /** Parser node name, e.g. "AlterTableStmt"; explicit BEGIN/COMMIT are "TransactionStmt". */
  kind: string;
  /** false for statements Postgres refuses inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, …). */
  transactional: boolean;
  /** Tables and columns this statement removes (DROP TABLE, ALTER TABLE … DROP COLUMN). */
  drops: Array<{ table: string; column?: string }>;
}

export interface Analysis {
  file: string;
  statements: StatementInfo[];
  findings: Finding[];
  /** Set when the file does not parse: no statements or findings then. */
  parseError?: { line: number; column: number; message: string };
}

export interface LintOptions {
  /** Estimated row counts by table name (as written in the SQL, and also unqualified), when known. */
  tableRows?: ReadonlyMap<string, number>;
  /** A table with at least this many rows is large (default 10_000). */
  largeTableRows?: number;
}

const DEFAULT_LARGE_TABLE_ROWS = 10_000;

const RULES: Record<FindingRule, { class: FindingClass; suggestion: string }> = {
  "drop-table": {
    class: "destructive",
    suggestion:
      "stop using the table first, back it up (or rename it aside), then drop it in a contract migration " +
      "after the rollout is healthy",
  },
  "drop-column": {
    class: "destructive",
    suggestion:
      "stop reading and writing the column first, then drop it in a contract migration after the rollout is healthy",
  },
  truncate: {
    class: "destructive",
    suggestion: "copy the rows to a backup table first, or delete only the rows you mean with a WHERE clause",
  },
  "delete-without-where": {
    class: "destructive",
    suggestion:
      "add a WHERE clause for the rows you mean; to purge a table, back it up and delete in batches",
  },
  "update-without-where": {
    class: "destructive",
    suggestion:
      "add a WHERE clause for the rows you mean; to backfill a table, update in batches by key range",
  },
  "narrowing-type-change": {
    class: "destructive",
    suggestion:
      "check that every existing value fits first; safer: add a column of the new type, backfill, switch " +
      "readers, then drop the old column in a contract migration",
  },
  "not-null-without-default": {
    class: "breaking",
    suggestion:
      "add the column nullable with a DEFAULT, backfill, add CHECK (col IS NOT NULL) NOT VALID and VALIDATE it, " +
      "then SET NOT NULL in a contract migration",
  },
  rename: {
    class: "breaking",
    suggestion:
      "add the new column (or a view with the new table name), write both, switch readers, then drop the old " +
      "name in a contract migration",
  },
  "index-without-concurrently": {
    class: "locking",
    suggestion: "use CREATE INDEX CONCURRENTLY in its own migration (it cannot run inside a transaction)",
  },
};

let loaded = false;
let loading: Promise<void> | undefined;

/** Loads the WASM parser. Idempotent; await it before calling analyzeSql. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule().then(
    () => {
      loaded = true;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** Analyses one migration file. Synchronous; throws only when loadSqlParser() was never awaited. */
export function analyzeSql(text: string, file: string, options: LintOptions = {}): Analysis {
  if (!loaded) throw new Error("SQL parser not loaded: await loadSqlParser() before analyzeSql()");
  const sql = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const positions = new Positions(sql);
  const analysis: Analysis = { file, statements: [], findings: [] };
  if (sql === "") return analysis; // the parser throws on an empty string

  let rawStmts: NonNullable<ReturnType<typeof parseSync>["stmts"]>;
  try {
    rawStmts = parseSync(sql).stmts ?? [];
  } catch (error) {
    const details = (error as { sqlDetails?: { message: string; cursorPosition: number } }).sqlDetails;
    const at = positions.ofCodePoint(details?.cursorPosition ?? 0);
    analysis.parseError = { ...at, message: details?.message ?? String((error as Error).message ?? error) };
    return analysis;
  }

  const context: Context = {
    rows: options.tableRows,
    largeTableRows: options.largeTableRows ?? DEFAULT_LARGE_TABLE_ROWS,
    created: [],
  };
  for (const raw of rawStmts) {
    if (!raw.stmt) continue;
    const at = positions.ofByte(positions.skipTrivia(raw.stmt_location ?? 0));
    const kind = Object.keys(raw.stmt)[0] ?? "Unknown";
    const statement: StatementInfo = { ...at, kind, transactional: isTransactional(raw.stmt), drops: [] };
    const report: Report = (rule, message, table) => {
      const { class: cls, suggestion } = RULES[rule];
      analysis.findings.push({
        file,
        ...at,
        rule,
        class: cls,
        message,
        suggestion,
        ...(table ? { table } : {}),
      });
    };
    checkStatement(raw.stmt, statement, report, context);
    analysis.statements.push(statement);
  }
  return analysis;
}

// ---------------------------------------------------------------------------------------------------------
// Rules

type Report = (rule: FindingRule, message: string, table?: string) => void;

interface Context {
  rows: ReadonlyMap<string, number> | undefined;
  largeTableRows: number;
  /** Tables created earlier in this file: empty, so building an index on them locks nothing of note. */
  created: RangeVar[];
}

function checkStatement(node: Node, statement: StatementInfo, report: Report, context: Context): void {
  if ("DropStmt" in node) checkDrop(node.DropStmt, statement, report);
  else if ("AlterTableStmt" in node) checkAlterTable(node.AlterTableStmt, statement, report);
  else if ("RenameStmt" in node) checkRename(node.RenameStmt, report);
  else if ("TruncateStmt" in node) checkTruncate(node.TruncateStmt, report);
  else if ("IndexStmt" in node) checkIndex(node.IndexStmt, report, context);
  else if ("CreateStmt" in node) checkCreateTable(node.CreateStmt, context);
  // DELETE/UPDATE, at the top level or as a data-modifying CTE (WITH x AS (DELETE …) SELECT …).
  checkWholeTableWrites(node, report);
}

/** Remembers new tables; IF NOT EXISTS may meet an existing table with rows, so it does not count. */
function checkCreateTable(stmt: CreateStmt, context: Context): void {
  if (stmt.relation && !stmt.if_not_exists) context.created.push(stmt.relation);
}

function checkDrop(stmt: DropStmt, statement: StatementInfo, report: Report): void {
  if (stmt.removeType !== "OBJECT_TABLE") return;
  for (const object of stmt.objects ?? []) {
    const table = "List" in object ? qualifiedName(object.List.items) : undefined;
    if (!table) continue;
    statement.drops.push({ table });
    report("drop-table", `DROP TABLE ${table} loses the table and all its rows`, table);
  }
}

function checkAlterTable(stmt: AlterTableStmt, statement: StatementInfo, report: Report): void {
  if (stmt.objtype !== "OBJECT_TABLE" || !stmt.relation) return;
  const table = tableName(stmt.relation);
  for (const item of stmt.cmds ?? []) {
    if (!("AlterTableCmd" in item)) continue;
    const cmd: AlterTableCmd = item.AlterTableCmd;
    const column = cmd.name ?? "?";
    const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
    switch (cmd.subtype) {
      case "AT_DropColumn":
        statement.drops.push({ table, column });
        report("drop-column", `DROP COLUMN ${table}.${column} loses the column's data`, table);
        break;
      case "AT_AlterColumnType":
        if (def?.typeName && isNarrowingType(def.typeName)) {
          const type = typeLabel(def.typeName);
          report(
            "narrowing-type-change",
            `ALTER COLUMN ${table}.${column} TYPE ${type} can truncate or reject existing values`,
            table,
          );
        }
        break;
      case "AT_AddColumn":
        if (def && isNotNullWithoutDefault(def)) {
          report(
            "not-null-without-default",
            `ADD COLUMN ${table}.${def.colname} NOT NULL without DEFAULT fails if ${table} has rows, ` +
              "and inserts from old code that omit the column fail",
            table,
          );
        }
        break;
      case "AT_SetNotNull":
        report(
          "not-null-without-default",
          `SET NOT NULL on ${table}.${column} makes inserts from old code that omit the column fail, ` +
            `and scans ${table} while holding an exclusive lock`,
          table,
        );
        break;
    }
  }
}

function checkRename(stmt: RenameStmt, report: Report): void {
  if (!stmt.relation) return;
  const table = tableName(stmt.relation);
  if (stmt.renameType === "OBJECT_TABLE") {
    report(
      "rename",
      `RENAME TABLE ${table} TO ${stmt.newname} breaks old code that still uses ${table}`,
      table,
    );
  } else if (stmt.renameType === "OBJECT_COLUMN" && stmt.relationType === "OBJECT_TABLE") {
    report(
      "rename",
      `RENAME COLUMN ${table}.${stmt.subname} TO ${stmt.newname} breaks old code that still uses ${stmt.subname}`,
      table,
    );
  }
}

function checkTruncate(stmt: TruncateStmt, report: Report): void {
  for (const relation of stmt.relations ?? []) {
    if (!("RangeVar" in relation)) continue;
    const table = tableName(relation.RangeVar);
    report("truncate", `TRUNCATE ${table} deletes every row`, table);
  }
}

function checkWholeTableWrites(node: Node, report: Report): void {
  if ("DeleteStmt" in node) {
    const { relation, whereClause } = node.DeleteStmt;
    if (relation && !whereClause) {
      const table = tableName(relation);
      report("delete-without-where", `DELETE FROM ${table} without WHERE deletes every row`, table);
    }
  } else if ("UpdateStmt" in node) {
    const { relation, whereClause } = node.UpdateStmt;
    if (relation && !whereClause) {
      const table = tableName(relation);
      report("update-without-where", `UPDATE ${table} without WHERE rewrites every row`, table);
    }
  }
  const body = Object.values(node)[0] as { withClause?: WithClause } | undefined;
  for (const cte of body?.withClause?.ctes ?? []) {
    if ("CommonTableExpr" in cte && cte.CommonTableExpr.ctequery) {
      checkWholeTableWrites(cte.CommonTableExpr.ctequery, report);
    }
  }
}

function checkIndex(stmt: IndexStmt, report: Report, context: Context): void {
  const relation = stmt.relation;
  if (stmt.concurrent || !relation || context.created.some((created) => sameTable(created, relation))) return;
  const table = tableName(relation);
  const rows = context.rows?.get(table) ?? context.rows?.get(relation.relname ?? "");
  const index = stmt.idxname ? `CREATE INDEX ${stmt.idxname}` : "CREATE INDEX";
  if (rows === undefined || rows < 0) {
    report(
      "index-without-concurrently",
      `${index} on ${table}: if ${table} is large, this blocks writes while the index builds`,
      table,
    );
  } else if (rows >= context.largeTableRows) {
    const estimate = Math.round(rows).toLocaleString("en-US");
    report(
      "index-without-concurrently",
      `${index} on ${table} (~${estimate} rows) blocks writes to ${table} while the index builds`,
      table,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Node helpers

/** Statements Postgres refuses inside a transaction block ("… cannot run inside a transaction block"). */
function isTransactional(node: Node): boolean {
  const [kind, body] = Object.entries(node)[0] ?? [];
  switch (kind) {
    case "IndexStmt":
      return !(body as IndexStmt).concurrent;
    case "DropStmt":
      return !(body as DropStmt).concurrent;
    case "ReindexStmt": {
      const stmt = body as ReindexStmt;
      if (stmt.kind === "REINDEX_OBJECT_SYSTEM" || stmt.kind === "REINDEX_OBJECT_DATABASE") return false;
      return !(stmt.params ?? []).some(
        (p) => "DefElem" in p && p.DefElem.defname === "concurrently" && isOn(p),
      );
    }
    case "VacuumStmt":
      return !(body as VacuumStmt).is_vacuumcmd; // a bare ANALYZE may run in a transaction
    case "CreatedbStmt":
    case "DropdbStmt":
    case "CreateTableSpaceStmt":
    case "DropTableSpaceStmt":
    case "AlterSystemStmt":
      return false;
    default:
      return true;
  }
}

/** A boolean option (`CONCURRENTLY`, `CONCURRENTLY false`, `CONCURRENTLY 0`). */
function isOn(option: Node): boolean {
  const arg = "DefElem" in option ? option.DefElem.arg : undefined;
  if (!arg) return true;
  if ("Integer" in arg) return (arg.Integer.ival ?? 0) !== 0;
  if ("String" in arg) return !["false", "off", "no", "0"].includes((arg.String.sval ?? "").toLowerCase());
  if ("Boolean" in arg) return arg.Boolean.boolval === true;
  return true;
}

/** Smaller numerics; any type with a modifier (varchar(n), numeric(p,s), bit(n), timestamp(p)…) is bounded. */
const NARROW_TYPES = new Set(["int2", "int4", "float4"]);

function isNarrowingType(type: TypeName): boolean {
  return (type.typmods?.length ?? 0) > 0 || NARROW_TYPES.has(lastName(type.names) ?? "");
}

function isNotNullWithoutDefault(column: ColumnDef): boolean {
  const constraints = (column.constraints ?? []).flatMap((c) => ("Constraint" in c ? [c.Constraint] : []));
  const notNull =
    column.is_not_null ||
    constraints.some((c) => c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY");
  const filled =
    /^(small|big)?serial[248]?$/.test(lastName(column.typeName?.names) ?? "") ||
    constraints.some(
      (c) =>
        c.contype === "CONSTR_IDENTITY" ||
        c.contype === "CONSTR_GENERATED" ||
        (c.contype === "CONSTR_DEFAULT" &&
          !(c.raw_expr && "A_Const" in c.raw_expr && c.raw_expr.A_Const.isnull)),
    );
  return Boolean(notNull) && !filled;
}

/** `varchar(10)`, `numeric(5,0)`, `int2`: the type as written, without the pg_catalog prefix. */
function typeLabel(type: TypeName): string {
  const names = (type.names ?? []).flatMap((n) => ("String" in n ? [n.String.sval ?? ""] : []));
  const name = names.filter((n, i) => !(i === 0 && n === "pg_catalog" && names.length > 1)).join(".");
  const mods = (type.typmods ?? []).map((mod) => {
    if (!("A_Const" in mod)) return "…";
    // Protobuf JSON omits zero values: numeric(5,0) has `ival: {}` for the 0.
    const { ival, sval } = mod.A_Const;
    return sval ? sval.sval : String(ival?.ival ?? 0);
  });
  const bounds = (type.arrayBounds ?? []).map(() => "[]").join("");
  return `${name}${mods.length > 0 ? `(${mods.join(",")})` : ""}${bounds}`;
}

function lastName(names: Node[] | undefined): string | undefined {
  const last = names?.at(-1);
  return last && "String" in last ? last.String.sval : undefined;
}

function qualifiedName(items: Node[] | undefined): string {
  return (items ?? []).map((item) => ("String" in item ? item.String.sval : "")).join(".");
}

function tableName(relation: RangeVar): string {
  return [relation.catalogname, relation.schemaname, relation.relname].filter(Boolean).join(".");
}

/** Same table when the names match and the schemas do too, or one side leaves its schema to the search path. */
function sameTable(a: RangeVar, b: RangeVar): boolean {
  return a.relname === b.relname && (!a.schemaname || !b.schemaname || a.schemaname === b.schemaname);
}

// ---------------------------------------------------------------------------------------------------------
// Positions

/** Line/column lookups for one file, with its line starts computed once. */
class Positions {
  private readonly bytes: Buffer;
  /** Byte offset of the start of each line. */
  private readonly lineStarts: number[] = [0];

  constructor(private readonly text: string) {
    this.bytes = Buffer.from(text, "utf8");
    for (let i = this.bytes.indexOf(10); i !== -1; i = this.bytes.indexOf(10, i + 1))
      this.lineStarts.push(i + 1);
  }

  /** 1-based line and column (in code points) of a byte offset. */
  ofByte(offset: number): { line: number; column: number } {
    const at = Math.max(0, Math.min(offset, this.bytes.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    let column = 1;
    for (let i = this.lineStarts[low]!; i < at; i++) if ((this.bytes[i]! & 0xc0) !== 0x80) column++;
    return { line: low + 1, column };
  }

  /** 1-based line and column of a 0-based code point offset (libpg-query's error cursor). */
  ofCodePoint(offset: number): { line: number; column: number } {
    let bytes = 0;
    let index = 0;
    for (const char of this.text) {
      if (index++ >= offset) break;
      bytes += Buffer.byteLength(char, "utf8");
    }
    return this.ofByte(bytes);
  }

  /**
   * The first token at or after a byte offset: skips whitespace and comments. PG 18 already points
   * stmt_location at the first token; older parsers pointed just past the previous semicolon.
   */
  skipTrivia(offset: number): number {
    const b = this.bytes;
    let i = offset;
    while (i < b.length) {
      const c = b[i]!;
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) i++;
      else if (c === 0x2d && b[i + 1] === 0x2d) {
        const end = b.indexOf(10, i);
        i = end === -1 ? b.length : end + 1;
      } else if (c === 0x2f && b[i + 1] === 0x2a) {
        // Block comments nest in Postgres.
        let depth = 1;
        i += 2;
        while (i < b.length && depth > 0) {
          const pair = (b[i]! << 8) | (b[i + 1] ?? 0);
          if (pair === 0x2f2a)
            depth++; // "/*"
          else if (pair === 0x2a2f) depth--; // "*/"
          i += pair === 0x2f2a || pair === 0x2a2f ? 2 : 1;
        }
      } else break;
    }
    return i;
  }
}
