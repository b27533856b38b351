/** What validation reports: one entry per mistake, with where, what, and what to write instead. */

export type Severity = "error" | "warning";
export type Path = ReadonlyArray<string | number>;

export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based; absent when the problem is about the file as a whole (missing, binary …). */
  line?: number;
  col?: number;
  /** Field path, e.g. `monitor.rules[0].when`; empty for the whole file. */
  path: string;
  message: string;
}

/** Example: `formatPath(["gates", 0, "run"])` → `gates[0].run`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z0-9_$-]+$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** `file:line:col: error: path: message`, the form editors and CI logs link from. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.col ?? 1}`;
  const field = d.path ? `${d.path}: ` : "";
  return `${where}: ${d.severity}: ${field}${d.message}`;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0) ||
      a.message.localeCompare(b.message),
  );
}
