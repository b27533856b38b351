import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, test } from "node:test";
import { ROOT } from "../../test/helpers/paths.js";
import { type Analysis, analyzeSql, type LintOptions, loadSqlParser } from "./lint.js";

const FIXTURES = path.join(ROOT, "test/fixtures/migrations/lint");

before(() => loadSqlParser());

function lintFixture(name: string, options?: LintOptions): Analysis {
  return analyzeSql(readFileSync(path.join(FIXTURES, name), "utf8"), name, options);
}

/** rule, class and line:column of each finding, in order. */
function summary(analysis: Analysis): string[] {
  return analysis.findings.map((f) => `${f.rule} ${f.class} ${f.line}:${f.column}`);
}

test("each fixture yields its rule, class and position", () => {
  const expected: Record<string, string[]> = {
    "drop-table.sql": ["drop-table destructive 3:1", "drop-table destructive 3:1"],
    "drop-column.sql": ["drop-column destructive 4:1"],
    "truncate.sql": ["truncate destructive 3:3"],
    "delete-without-where.sql": ["delete-without-where destructive 3:1"],
    "update-without-where.sql": ["update-without-where destructive 3:1"],
    "narrowing-type-change.sql": ["narrowing-type-change destructive 3:1"],
    "not-null-without-default.sql": [
      "not-null-without-default breaking 3:1",
      "not-null-without-default breaking 4:1",
    ],
    "rename.sql": ["rename breaking 3:1", "rename breaking 4:1"],
    "index-without-concurrently.sql": ["index-without-concurrently locking 3:1"],
  };
  for (const [file, findings] of Object.entries(expected)) {
    const analysis = lintFixture(file);
    assert.equal(analysis.parseError, undefined, file);
    assert.deepEqual(summary(analysis), findings, file);
    for (const finding of analysis.findings) {
      assert.equal(finding.file, file);
      assert.ok(finding.message.length > 0 && finding.suggestion.length > 0, file);
    }
  }
});

test("messages name the table and column; tables stay schema-qualified", () => {
  const drops = lintFixture("drop-table.sql").findings;
  assert.deepEqual(
    drops.map((f) => f.table),
    ["audit_log", "archive.audit_log_2023"],
  );
  assert.match(drops[1]!.message, /DROP TABLE archive\.audit_log_2023/);

  const [column] = lintFixture("drop-column.sql").findings;
  assert.equal(column!.message, "DROP COLUMN users.nickname loses the column's data");
  assert.match(column!.suggestion, /contract migration/);

  const [narrowing] = lintFixture("narrowing-type-change.sql").findings;
  assert.match(narrowing!.message, /users\.country TYPE varchar\(2\)/);

  assert.equal(lintFixture("delete-without-where.sql").findings[0]!.table, "auth.tokens");

  const [added, setNotNull] = lintFixture("not-null-without-default.sql").findings;
  assert.match(added!.message, /orders\.currency NOT NULL without DEFAULT/);
  assert.match(setNotNull!.message, /SET NOT NULL on orders\.customer_id/);
  assert.match(added!.suggestion, /NOT VALID/);

  const [table, col] = lintFixture("rename.sql").findings;
  assert.match(table!.message, /customers TO clients/);
  assert.match(col!.message, /clients\.mail TO email/);
});

test("safe.sql has no findings", () => {
  const analysis = lintFixture("safe.sql");
  assert.equal(analysis.parseError, undefined);
  assert.deepEqual(analysis.findings, []);
  assert.equal(analysis.statements.at(-1)!.kind, "DoStmt");
});

test("a syntax error reports the parser's message on its line", () => {
  const analysis = lintFixture("syntax-error.sql");
  assert.deepEqual(analysis.parseError, { line: 3, column: 1, message: 'syntax error at or near "SELEC"' });
  assert.deepEqual(analysis.statements, []);
  assert.deepEqual(analysis.findings, []);
});

test("statements Postgres refuses in a transaction block are not transactional", () => {
  const analysis = lintFixture("non-transactional.sql");
  assert.deepEqual(
    analysis.statements.map((s) => [s.kind, s.transactional, s.line]),
    [
      ["IndexStmt", false, 2],
      ["VacuumStmt", false, 3],
    ],
  );
  assert.deepEqual(analysis.findings, []);

  const other = analyzeSql(
    "BEGIN;\nANALYZE users;\nALTER TYPE mood ADD VALUE 'meh';\nREINDEX TABLE CONCURRENTLY users;\nCOMMIT;",
    "x.sql",
  );
  assert.deepEqual(
    other.statements.map((s) => [s.kind, s.transactional]),
    [
      ["TransactionStmt", true],
      ["VacuumStmt", true],
      ["AlterEnumStmt", true],
      ["ReindexStmt", false],
      ["TransactionStmt", true],
    ],
  );
});

test("drops lists the tables and columns removed", () => {
  assert.deepEqual(lintFixture("drop-table.sql").statements[0]!.drops, [
    { table: "audit_log" },
    { table: "archive.audit_log_2023" },
  ]);
  assert.deepEqual(lintFixture("drop-column.sql").statements[0]!.drops, [
    { table: "users", column: "nickname" },
  ]);
  assert.deepEqual(lintFixture("truncate.sql").statements[0]!.drops, []);
});

test("index findings follow the known table size", () => {
  const small = lintFixture("index-without-concurrently.sql", { tableRows: new Map([["orders", 120]]) });
  assert.deepEqual(small.findings, []);

  const large = lintFixture("index-without-concurrently.sql", {
    tableRows: new Map([["orders", 2_500_000]]),
  });
  assert.equal(large.findings.length, 1);
  assert.match(large.findings[0]!.message, /2,500,000 rows/);
  assert.match(large.findings[0]!.suggestion, /CONCURRENTLY/);

  const threshold = lintFixture("index-without-concurrently.sql", {
    tableRows: new Map([["orders", 500]]),
    largeTableRows: 500,
  });
  assert.equal(threshold.findings.length, 1);

  const unknown = lintFixture("index-without-concurrently.sql");
  assert.match(unknown.findings[0]!.message, /if orders is large, this blocks writes while the index builds/);

  const qualified = analyzeSql("CREATE INDEX i ON shop.orders (id);", "q.sql", {
    tableRows: new Map([["orders", 50_000]]),
  });
  assert.match(qualified.findings[0]!.message, /shop\.orders \(~50,000 rows\)/);
});

test("multi-byte text before a statement keeps columns in characters", () => {
  const sql = "-- café ☕ 😀\nSELECT 'naïve — ☕😀'; DROP TABLE t;\n/* ü */ TRUNCATE u;";
  const analysis = analyzeSql(sql, "utf8.sql");
  assert.deepEqual(
    analysis.statements.map((s) => `${s.kind} ${s.line}:${s.column}`),
    ["SelectStmt 2:1", "DropStmt 2:22", "TruncateStmt 3:9"],
  );
  assert.deepEqual(summary(analysis), ["drop-table destructive 2:22", "truncate destructive 3:9"]);

  const error = analyzeSql("SELECT 'é😀';\n  SELEC 1;", "err.sql");
  assert.deepEqual(error.parseError, { line: 2, column: 3, message: 'syntax error at or near "SELEC"' });

  const bom = analyzeSql("\uFEFF-- x\nDROP TABLE t;", "bom.sql");
  assert.deepEqual(summary(bom), ["drop-table destructive 2:1"]);
});

test("rules beyond the fixtures", () => {
  const analysis = analyzeSql(
    [
      "WITH gone AS (DELETE FROM carts RETURNING id) SELECT count(*) FROM gone;",
      "ALTER TABLE t ALTER a TYPE smallint, ALTER b TYPE numeric(5,0), ALTER c TYPE numeric, ALTER d TYPE varchar;",
      "ALTER TABLE t ADD x serial NOT NULL, ADD y int NOT NULL DEFAULT NULL, ADD z int GENERATED ALWAYS AS IDENTITY;",
      "CREATE TABLE s.fresh (id int); CREATE INDEX ON fresh (id);",
      "CREATE TABLE IF NOT EXISTS old (id int); CREATE INDEX ON old (id);",
      "ALTER INDEX i RENAME TO j; ALTER TABLE t RENAME CONSTRAINT c TO d;",
      "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$;",
      "CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END;",
    ].join("\n"),
    "more.sql",
  );
  assert.deepEqual(
    analysis.findings.map((f) => `${f.rule} ${f.line}:${f.column} ${f.message}`),
    [
      "delete-without-where 1:1 DELETE FROM carts without WHERE deletes every row",
      "narrowing-type-change 2:1 ALTER COLUMN t.a TYPE int2 can truncate or reject existing values",
      "narrowing-type-change 2:1 ALTER COLUMN t.b TYPE numeric(5,0) can truncate or reject existing values",
      "not-null-without-default 3:1 ADD COLUMN t.y NOT NULL without DEFAULT fails if t has rows, " +
        "and inserts from old code that omit the column fail",
      "index-without-concurrently 5:42 CREATE INDEX on old: if old is large, this blocks writes while the index builds",
    ],
  );
});

test("an empty or comment-only file has no statements", () => {
  assert.deepEqual(analyzeSql("", "empty.sql"), { file: "empty.sql", statements: [], findings: [] });
  assert.deepEqual(analyzeSql("-- nothing\n", "c.sql").statements, []);
});

test("lints 500 typical files well under 2 s", () => {
  const files = ["drop-column.sql", "not-null-without-default.sql", "safe.sql", "rename.sql"].map((name) =>
    readFileSync(path.join(FIXTURES, name), "utf8"),
  );
  const start = performance.now();
  for (let i = 0; i < 500; i++) analyzeSql(files[i % files.length]!, `${i}.sql`);
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
});
