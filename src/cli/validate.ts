/** `gantry validate FILE…` */
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { EXIT, ExitError } from "../errors.js";
import { formatProblem, type MigrationProblem } from "../migrations/check.js";
import { capDiagnostics, type Diagnostic, MAX_COLLECTED } from "../runbook/diagnostics.js";
import { hasErrors, type LoadResult, loadRunbook, problemCounts } from "../runbook/load.js";
import { json, out, printDiagnostics } from "./output.js";

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
      printDiagnostics(out, result, (d) => ("rule" in d ? formatProblem(d as MigrationProblem) : undefined));
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
  // Validation parses a few files once: compiling the parser's 1.7 MB of WASM a second time,
  // optimized, would cost more than it saves (a third of a 1,000-line runbook's time).
  setFlagsFromString("--liftoff-only");
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
  return { ...result, ...capDiagnostics([...result.diagnostics, ...problems], result.omitted) };
}

/**
 * One file in `--json`: `errors` and `warnings` count every problem found, `diagnostics` lists
 * the first 200 in file order, `omitted` counts the rest, and `complete` is false when
 * validation stopped looking (then the counts are a lower bound).
 */
function summary(result: LoadResult) {
  const { errors, warnings } = problemCounts(result);
  return {
    file: result.file,
    valid: !hasErrors(result),
    errors,
    warnings,
    diagnostics: result.diagnostics,
    omitted: result.omitted.errors + result.omitted.warnings,
    complete: result.complete,
  };
}

function line(result: LoadResult): string {
  const { errors, warnings } = problemCounts(result);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const w = warnings ? ` (${plural(warnings, "warning")})` : "";
  if (errors === 0) return `${result.file}: valid${w}`;
  const atLeast = result.complete ? "" : "at least ";
  const stopped = result.complete
    ? ""
    : ` (validation stops looking after ${MAX_COLLECTED} problems; fix these and run it again)`;
  return `${result.file}: invalid, ${atLeast}${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""}${stopped}`;
}
