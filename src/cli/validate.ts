/** `gantry validate FILE…` */
import { EXIT, ExitError } from "../errors.js";
import { formatDiagnostic } from "../runbook/diagnostics.js";
import { hasErrors, type LoadResult, loadRunbook } from "../runbook/load.js";
import { json, out } from "./output.js";

export interface ValidateOptions {
  json?: boolean;
}

export function validate(files: string[], options: ValidateOptions): void {
  const results = files.map((file) => loadRunbook(file));
  const valid = results.every((r) => !hasErrors(r));
  if (options.json) {
    json({ valid, files: results.map(summary) });
  } else {
    for (const result of results) {
      for (const d of result.diagnostics) out(formatDiagnostic(d));
      out(line(result));
    }
  }
  if (!valid) throw new ExitError(EXIT.invalid);
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
