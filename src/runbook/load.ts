/**
 * Loading a runbook: read → YAML with positions → schema → cross-field rules.
 * Never throws for anything a user can write; every problem becomes a diagnostic.
 */
import { type Diagnostic, formatPath, sortDiagnostics } from "./diagnostics.js";
import { issuesToDiagnostics } from "./issues.js";
import { RULES } from "./rules/index.js";
import { Runbook } from "./schema/runbook.js";
import { readSource } from "./source.js";
import { parseYaml } from "./yaml.js";

export interface LoadResult {
  file: string;
  /** Present when there are no errors (warnings may remain). */
  runbook?: Runbook;
  diagnostics: Diagnostic[];
}

export function hasErrors(result: LoadResult): boolean {
  return result.diagnostics.some((d) => d.severity === "error");
}

/** Example: `const { runbook, diagnostics } = loadRunbook("runbook.yaml")`. */
export function loadRunbook(file: string): LoadResult {
  const source = readSource(file);
  if (!source.ok)
    return { file, diagnostics: [{ severity: "error", file, path: "", message: source.message }] };
  return loadRunbookText(source.text, file);
}

export function loadRunbookText(text: string, file: string): LoadResult {
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    const diagnostics = parsed.problems.map(
      (p): Diagnostic => ({
        severity: "error",
        file,
        line: p.line,
        col: p.col,
        path: "",
        message: p.message,
      }),
    );
    return { file, diagnostics };
  }
  const { yaml } = parsed;
  if (yaml.value === null || typeof yaml.value !== "object" || Array.isArray(yaml.value)) {
    const what = yaml.value === null ? "empty" : Array.isArray(yaml.value) ? "a list" : "a single value";
    return {
      file,
      diagnostics: [
        {
          severity: "error",
          file,
          line: 1,
          col: 1,
          path: "",
          message: `the file is ${what}, not a runbook; a runbook is a YAML mapping starting with \`apiVersion: gantry/v1\` (gantry init writes one)`,
        },
      ],
    };
  }
  const result = Runbook.safeParse(yaml.value, { reportInput: true });
  if (!result.success) {
    return {
      file,
      diagnostics: sortDiagnostics(issuesToDiagnostics(result.error.issues, { file, root: Runbook, yaml })),
    };
  }
  const diagnostics: Diagnostic[] = [];
  const report =
    (severity: Diagnostic["severity"]) =>
    (path: ReadonlyArray<string | number>, message: string, key = false) => {
      const { line, col } = yaml.locate(path, key);
      diagnostics.push({ severity, file, line, col, path: formatPath(path), message });
    };
  const ctx = { runbook: result.data, raw: yaml.value, error: report("error"), warn: report("warning") };
  for (const rule of RULES) rule(ctx);
  const sorted = sortDiagnostics(diagnostics);
  return sorted.some((d) => d.severity === "error")
    ? { file, diagnostics: sorted }
    : { file, runbook: result.data, diagnostics: sorted };
}
