/** Writing results: stdout for results, stderr for diagnostics and progress. */
import { type Diagnostic, formatDiagnostic, formatOmitted, type Omitted } from "../runbook/diagnostics.js";

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/**
 * A file's listed diagnostics, one line each, then `file: and N more` when some were left
 * out. Written as one block: a capped list is still a few hundred lines.
 */
export function printDiagnostics(
  write: (text: string) => void,
  result: { file: string; diagnostics: Diagnostic[]; omitted: Omitted },
  format: (d: Diagnostic) => string | undefined = () => undefined,
): void {
  const lines = result.diagnostics.map((d) => format(d) ?? formatDiagnostic(d));
  const more = formatOmitted(result.file, result.omitted);
  if (more) lines.push(more);
  if (lines.length > 0) write(lines.join("\n"));
}
