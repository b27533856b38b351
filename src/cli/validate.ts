/** `gantry validate FILE…` */
import path from "node:path";
import { EXIT, ExitError } from "../errors.js";
import { formatProblem, type MigrationProblem } from "../migrations/check.js";
import { type Diagnostic, formatDiagnostic, sortDiagnostics } from "../runbook/diagnostics.js";
import { hasErrors, type LoadResult, loadRunbook } from "../runbook/load.js";
import { json, out } from "./output.js";

export interface ValidateOptions {
  json?: boolean;
}

export async function validate(files: string[], options: ValidateOptions): Promise<void> {
  const results = await Promise.all(files.map((file) => withMigrations(loadRunbook(file))));
  const valid = results.every((r) => !hasErrors(r));
  if (options.json) {
    json({ valid, files: results.map(summary) });
  } else {
    for (const result of results) {
      for (const d of result.diagnostics)
        out("rule" in d ? formatProblem(d as MigrationProblem) : formatDiagnostic(d));
      out(line(result));
    }
  }
  if (!valid) throw new ExitError(EXIT.invalid);
}

/** A valid runbook with migrations also gets its migration files linted, as the pre-flight will. */
async function withMigrations(result: LoadResult): Promise<LoadResult> {
  const m = result.runbook?.migrations;
  if (!m) return result;
  // Loaded only here: the PostgreSQL parser (WASM) costs a runbook without migrations nothing.
  const [{ loadSqlParser }, { readMigrations }, { checkMigrations }] = await Promise.all([
    import("../migrations/lint.js"),
    import("../migrations/files.js"),
    import("../migrations/check.js"),
  ]);
  await loadSqlParser();
  const set = readMigrations(m, path.dirname(path.resolve(result.file)));
  const problems: Diagnostic[] = checkMigrations(m, set).map((p) => ({
    ...p,
    // Shown relative to where the command runs, like the runbook's own path.
    file: path.join(path.dirname(result.file), p.file),
  }));
  return { ...result, diagnostics: sortDiagnostics([...result.diagnostics, ...problems]) };
}

function counts(result: LoadResult): { errors: number; warnings: number } {
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  return { errors, warnings: result.diagnostics.length - errors };
}

function summary(result: LoadResult) {
  return { file: result.file, valid: !hasErrors(result), ...counts(result), diagnostics: result.diagnostics };
}

function line(result: LoadResult): string {
  const { errors, warnings } = counts(result);
  const w = warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : "";
  if (errors === 0) return `${result.file}: valid${w}`;
  return `${result.file}: invalid, ${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}`;
}
