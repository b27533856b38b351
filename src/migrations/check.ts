/**
 * `gantry migrations lint`, `gantry validate` and the pre-flight all judge a migration set
 * the same way, here: every SQL file parses; nothing destructive or breaking runs before the
 * deploy; every migration has its rollback script when the runbook requires one; and each
 * file can run in one transaction.
 */
import type { Diagnostic } from "../runbook/diagnostics.js";
import type { MigrationsSpec as Migrations } from "../runbook/schema/runbook.js";
import type { MigrationFile, MigrationSet } from "./files.js";
import type { Finding } from "./lint.js";

export interface MigrationProblem extends Diagnostic {
  /** The lint rule (drop-column, missing-rollback, parse-error …): `path` holds the same. */
  rule: string;
  /** A safer way to write it. */
  suggestion?: string;
}

export function checkMigrations(m: Migrations, set: MigrationSet): MigrationProblem[] {
  const problems: MigrationProblem[] = [];
  const add = (
    severity: Diagnostic["severity"],
    file: string,
    rule: string,
    message: string,
    at?: { line: number; column: number },
    suggestion?: string,
  ) =>
    problems.push({
      severity,
      file,
      ...(at ? { line: at.line, col: at.column } : {}),
      path: rule,
      rule,
      message,
      ...(suggestion ? { suggestion } : {}),
    });
  if (set.problem) {
    add("error", m.dir, "folder", set.problem);
    return problems;
  }
  if (set.files.length === 0) add("warning", m.dir, "empty", `no migration files match ${patterns(m)}`);
  for (const name of set.unmatched) {
    add(
      "warning",
      `${m.dir}/${name}`,
      "unmatched",
      `matches no migration pattern (${patterns(m)}) and is no rollback script (${m.rollback.scripts}); it will not run`,
    );
  }
  for (const f of set.files) {
    const a = f.analysis;
    if (a?.parseError) {
      add("error", f.file, "parse-error", `does not parse: ${a.parseError.message}`, a.parseError);
      continue;
    }
    for (const finding of a?.findings ?? []) problems.push(judge(f, finding));
    const tx = a?.statements.find((s) => s.kind === "TransactionStmt");
    if (tx) {
      add(
        "error",
        f.file,
        "transaction",
        "manages its own transaction; Gantry runs each file in one transaction and records it there",
        tx,
        "remove BEGIN/COMMIT from the file",
      );
    }
    const outside = a?.statements.filter((s) => !s.transactional) ?? [];
    if (outside.length > 0 && (a?.statements.length ?? 0) > 1) {
      add(
        "warning",
        f.file,
        "non-transactional",
        `${outside[0]!.kind} cannot run in a transaction, so this file runs statement by statement: a failure part-way leaves the earlier statements applied`,
        outside[0],
        "put the statement in a file of its own",
      );
    }
    if (!f.rollback && m.rollback.require) {
      add(
        "error",
        f.file,
        "missing-rollback",
        `has no rollback script (${expected(f, m)}), and migrations.rollback.require is on`,
        undefined,
        `write ${expected(f, m)} undoing this migration`,
      );
    }
    const err = f.rollback?.analysis?.parseError;
    if (f.rollback && err)
      add("error", f.rollback.file, "parse-error", `rollback script does not parse: ${err.message}`, err);
  }
  return problems;
}

/** A finding's severity depends on the phase: before the deploy, destruction and breakage are errors. */
function judge(f: MigrationFile, finding: Finding): MigrationProblem {
  const early = f.phase === "expand" && finding.class !== "locking";
  const message = early
    ? `${finding.message}; an expand migration runs before the deploy, while the current release still uses the schema — make it a contract migration`
    : finding.message;
  return {
    severity: early ? "error" : "warning",
    file: f.file,
    line: finding.line,
    col: finding.column,
    path: finding.rule,
    rule: finding.rule,
    message,
    suggestion:
      f.phase === "contract" && /contract migration/.test(finding.suggestion)
        ? "this already is a contract migration, run after the deploy: make sure neither the new release nor the rollback target still uses what it removes or changes, and that a backup holds it"
        : finding.suggestion,
  };
}

function expected(f: MigrationFile, m: Migrations): string {
  const dir = f.file.includes("/") ? f.file.slice(0, f.file.lastIndexOf("/") + 1) : "";
  const base = f.name.slice(f.name.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
  return dir + m.rollback.scripts.replaceAll("{name}", base);
}

function patterns(m: Migrations): string {
  const all = [m.expand.match, m.contract?.match ?? []].flat();
  return all.join(", ");
}

/** `file:line:col: error: rule: message` and, indented below, the safer form. */
export function formatProblem(p: MigrationProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.col ?? 1}`;
  const head = `${where}: ${p.severity}: ${p.rule}: ${p.message}`;
  return p.suggestion ? `${head}\n    safer: ${p.suggestion}` : head;
}
