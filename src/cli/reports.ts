/**
 * `gantry report RUN [--format md|html|json|junit] [--out FILE]` and `gantry postmortem RUN
 * [--out FILE]`: a run's release record and its postmortem draft, drawn from its event log.
 * Also what an executor writes when a run it ran has finished (`afterRun`): the postmortem
 * draft of a rollback into the data folder, and the GitHub Actions job summary when
 * $GITHUB_STEP_SUMMARY is set.
 */
import fs from "node:fs";
import path from "node:path";
import { finishedRecord, postmortemFile, runRecord } from "../app/reports.js";
import type { Engine } from "../engine/runtime.js";
import { UsageError } from "../errors.js";
import { FORMATS, isFormat } from "../reports/formats.js";
import { renderPostmortem } from "../reports/postmortem.js";
import { renderSummary } from "../reports/summary.js";
import type { DatabaseOptions } from "../store/database.js";
import { withControl } from "./executor.js";
import { err } from "./output.js";

export async function report(runId: string, options: DatabaseOptions & { format?: string; out?: string }) {
  const format = options.format ?? "md";
  if (!isFormat(format))
    throw new UsageError(`--format ${format}: write one of ${Object.keys(FORMATS).join(", ")}`);
  const record = await withControl(options, (control) => runRecord(control, runId));
  write(FORMATS[format](record), options.out);
}

export async function postmortem(runId: string, options: DatabaseOptions & { out?: string }) {
  const record = await withControl(options, (control) => runRecord(control, runId));
  write(renderPostmortem(record), options.out);
}

/** To stdout, or to FILE (its folder made), saying where on stderr. */
function write(text: string, file: string | undefined): void {
  if (file === undefined) {
    process.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text);
  err(`wrote ${file}`);
}

/**
 * After an executor saw run `runId` end: a rolled-back run's postmortem draft goes to
 * `<data folder>/reports/`, and with `summary`, the job summary is appended to
 * $GITHUB_STEP_SUMMARY. A report that cannot be written is said, never fatal: the run has ended.
 */
export async function afterRun(
  engine: Pick<Engine, "db" | "store">,
  runId: string,
  outcome: string,
  options: { summary?: boolean } = {},
): Promise<void> {
  const summaryFile = options.summary ? process.env.GITHUB_STEP_SUMMARY : undefined;
  if (outcome !== "rolled_back" && !summaryFile) return;
  try {
    const record = await finishedRecord(engine.store, runId);
    if (outcome === "rolled_back") {
      const file = postmortemFile(engine.db.dataDir, runId);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, renderPostmortem(record));
      err(`postmortem draft: ${file}`);
    }
    if (summaryFile) fs.appendFileSync(summaryFile, renderSummary(record));
  } catch (e) {
    err(`gantry: the reports of run ${runId} could not be written: ${(e as Error).message}`);
  }
}
