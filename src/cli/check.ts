/**
 * `gantry check FILE --env NAME [CHECK…] [--json] [--accept-drift]`: runs checks now, outside a
 * release, and prints value, threshold, phase and reason for each. Exits 0 when every check
 * is successful, 4 when one failed, 9 when none failed but one could not be measured.
 */
import { asOption, identify } from "../app/identity.js";
import { operator } from "../app/runs.js";
import { type CheckResult, defaultChecks, runChecks, unknownChecks } from "../checks/run.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { loadRunbook } from "../runbook/load.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { closest } from "../runbook/suggest.js";
import { openForVerb } from "./executor.js";
import { err, json, out, printDiagnostics } from "./output.js";

export const EXIT_CHECK_FAILED = 4;
export const EXIT_CHECK_ERROR = 9;

export interface CheckCommandOptions {
  env: string;
  json?: boolean;
  acceptDrift?: boolean;
  as?: string;
  dataDir?: string;
}

export async function check(file: string, names: string[], options: CheckCommandOptions): Promise<void> {
  const loaded = loadRunbook(file);
  printDiagnostics(err, loaded);
  if (!loaded.runbook) {
    err(`${file}: invalid; fix the errors above (gantry validate ${file})`);
    throw new ExitError(EXIT.invalid);
  }
  const runbook = loaded.runbook;
  const envs = Object.keys(runbook.environments);
  if (!envs.includes(options.env)) {
    const near = closest(options.env, envs);
    throw new UsageError(
      `--env: no environment ${options.env} in ${file}${near ? `; did you mean ${near}?` : ""} (environments: ${envs.join(", ")})`,
    );
  }
  const unknown = unknownChecks(runbook, names);
  if (unknown.length > 0) {
    const known = [
      ...Object.keys(runbook.checks),
      ...(runbook.parity ? ["parity"] : []),
      ...(runbook.drift ? ["drift"] : []),
    ];
    throw new UsageError(
      `${unknown
        .map((n) => {
          const near = closest(n, known);
          return `no check ${n}${near ? `; did you mean ${near}?` : ""}`;
        })
        .join("\n")}\nchecks in ${file}: ${known.join(", ") || "none"}`,
    );
  }
  const wanted = names.length > 0 ? names : defaultChecks(runbook, options.env);
  if (wanted.length === 0) {
    throw new UsageError(
      `${file} declares no checks: add some under checks (and environments.${options.env}.validate)`,
    );
  }
  if (options.acceptDrift && !wanted.includes("drift"))
    throw new UsageError("--accept-drift goes with the drift check");

  const needsStore = wanted.includes("drift") && runbook.drift?.config === true;
  const run = async (store?: Parameters<typeof runChecks>[3]["store"], by = operator(options.as)) =>
    runChecks(runbook, options.env, wanted, {
      file,
      ...(store ? { store } : {}),
      ...(options.acceptDrift ? { accept: { by } } : {}),
    });
  let results: CheckResult[];
  if (needsStore) {
    const { openDatabase } = await import("../store/database.js");
    const { EventStore } = await import("../store/events.js");
    const db = await openForVerb(() => openDatabase({ dataDir: options.dataDir }));
    try {
      // Accepting drift changes what later checks compare with: an act, by an identity.
      const by = options.acceptDrift ? (await identify(db.pool, asOption(options))).name : undefined;
      results = await run(new EventStore(db.pool), by);
    } finally {
      await db.close();
    }
  } else {
    results = await run();
  }

  if (options.json) {
    json(results.map((r) => ({ check: r.name, type: r.type, threshold: r.threshold, ...r.measurement })));
  } else {
    out(table(runbook, options.env, results));
  }
  const phases = results.map((r) => r.measurement.phase);
  if (phases.includes("failed")) throw new ExitError(EXIT_CHECK_FAILED);
  if (phases.some((p) => p !== "successful")) throw new ExitError(EXIT_CHECK_ERROR);
}

const MARK: Record<string, string> = {
  successful: "ok",
  failed: "FAILED",
  error: "ERROR",
  inconclusive: "?",
};

/** The results as `gantry check` prints them: a summary line, a table, then each reason. */
export function table(runbook: Runbook, env: string, results: CheckResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.type,
    r.measurement.value === undefined || r.measurement.value === null ? "—" : String(r.measurement.value),
    r.threshold,
    MARK[r.measurement.phase] ?? r.measurement.phase,
  ]);
  const head = ["CHECK", "TYPE", "VALUE", "THRESHOLD", "PHASE"];
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const ok = results.filter((r) => r.measurement.phase === "successful").length;
  return [
    `${runbook.metadata.service} → ${env}: ${ok} of ${results.length} checks passed`,
    "",
    line(head),
    ...rows.map(line),
    "",
    ...results.map((r) => `${r.name}: ${r.measurement.message}`),
  ].join("\n");
}
