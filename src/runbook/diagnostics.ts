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

/** Diagnostics listed per file; the rest are counted ("and N more"). */
export const MAX_SHOWN = 200;
/**
 * Problems collected (located and kept) per file. Past this, problems are only counted, and
 * the checks that cost the most (templates, further parts of a huge list) stop looking.
 */
export const MAX_COLLECTED = 10_000;

/** Problems found but not listed. */
export interface Omitted {
  errors: number;
  warnings: number;
}

export const NONE_OMITTED: Omitted = Object.freeze({ errors: 0, warnings: 0 });

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

/** The line after a capped list: `runbook.yaml: and 48542 more`. */
export function formatOmitted(file: string, omitted: Omitted): string | undefined {
  const more = omitted.errors + omitted.warnings;
  return more > 0 ? `${file}: and ${more} more` : undefined;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(compareDiagnostics);
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    a.file.localeCompare(b.file) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    (a.col ?? 0) - (b.col ?? 0) ||
    a.message.localeCompare(b.message)
  );
}

/** The first `MAX_SHOWN` in file order; the rest counted into `omitted`. */
export function capDiagnostics(
  list: Diagnostic[],
  omitted: Omitted = NONE_OMITTED,
): { diagnostics: Diagnostic[]; omitted: Omitted } {
  const sorted = sortDiagnostics(list);
  const rest = sorted.slice(MAX_SHOWN);
  const restErrors = rest.filter((d) => d.severity === "error").length;
  return {
    diagnostics: sorted.slice(0, MAX_SHOWN),
    omitted: { errors: omitted.errors + restErrors, warnings: omitted.warnings + rest.length - restErrors },
  };
}

/** A diagnostic whose message is built only if it is listed. */
interface Pending {
  severity: Severity;
  line?: number;
  col?: number;
  path: string;
  message: string | (() => string);
}

/**
 * Collects one file's problems with bounded work: every problem is counted, the first
 * `MAX_COLLECTED` are located, and only the `MAX_SHOWN` listed get their message built.
 * Example: `sink.add("error", () => ({ ...yaml.locate(path), path: "gates[0]", message: () => "…" }))`.
 */
export class DiagnosticSink {
  errors = 0;
  warnings = 0;
  /** False once a check stopped looking because the sink was full: the counts are then a lower bound. */
  complete = true;
  private readonly pending: Pending[] = [];

  constructor(
    readonly file: string,
    private readonly limit = MAX_COLLECTED,
    private readonly shown = MAX_SHOWN,
  ) {}

  /** True once `limit` problems were found: callers skip costly checks (and call `stopped`). */
  get full(): boolean {
    return this.errors + this.warnings >= this.limit;
  }

  /** Counts a problem; `make` (which locates it) runs only while there is room. */
  add(severity: Severity, make: () => Omit<Pending, "severity">): void {
    if (severity === "error") this.errors++;
    else this.warnings++;
    if (this.pending.length < this.limit) this.pending.push({ severity, ...make() });
  }

  /** A check skipped work because the sink was full. */
  stopped(): void {
    this.complete = false;
  }

  /** The first `shown` in file order, with their messages, and what was left out. */
  result(): { diagnostics: Diagnostic[]; omitted: Omitted; complete: boolean } {
    const text = (p: Pending): string => {
      if (typeof p.message === "function") p.message = p.message();
      return p.message;
    };
    const order = [...this.pending].sort(
      (a, b) =>
        (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0) || text(a).localeCompare(text(b)),
    );
    const shown = order.slice(0, this.shown);
    const diagnostics = shown.map(
      (p): Diagnostic => ({
        severity: p.severity,
        file: this.file,
        ...(p.line !== undefined ? { line: p.line, col: p.col ?? 1 } : {}),
        path: p.path,
        message: text(p),
      }),
    );
    const shownErrors = diagnostics.filter((d) => d.severity === "error").length;
    return {
      diagnostics,
      omitted: {
        errors: this.errors - shownErrors,
        warnings: this.warnings - (diagnostics.length - shownErrors),
      },
      complete: this.complete,
    };
  }
}
