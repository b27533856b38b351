/** `gantry plan FILE --env NAME [--ref REF] [--at TIME] [--json]` */
import fs from "node:fs";
import { DateTime } from "luxon";
import { notExecutable } from "../app/capabilities.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { loadRunbook } from "../runbook/load.js";
import { plan } from "../runbook/plan/plan.js";
import { renderPlan } from "../runbook/plan/render.js";
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { err, json, out, printDiagnostics } from "./output.js";

export interface PlanCommandOptions {
  env: string;
  ref?: string;
  at?: string;
  json?: boolean;
}

/** Loads and plans, printing diagnostics and exiting 1 when the runbook is invalid. Shared with `release`. */
export function loadAndPlan(
  file: string,
  options: PlanCommandOptions,
): { plan: ReleasePlan; runbook: Runbook } {
  const at = options.at === undefined ? new Date().toISOString() : parseAt(options.at);
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  const loaded = loadRunbook(file);
  printDiagnostics(err, loaded);
  if (!loaded.runbook) {
    err(`${file}: invalid; fix the errors above (gantry validate ${file})`);
    throw new ExitError(EXIT.invalid);
  }
  const result = plan(loaded.runbook, {
    env: options.env,
    ...(options.ref !== undefined ? { ref: options.ref } : {}),
    at,
    atGiven: options.at !== undefined,
    file,
  });
  if (!result.ok) throw new UsageError(`--env: ${result.message}`);
  return { plan: result.plan, runbook: loaded.runbook };
}

export function planCommand(file: string, options: PlanCommandOptions): void {
  const { plan: p, runbook } = loadAndPlan(file, options);
  const missing = notExecutable(p, {
    schedule: runbook.schedule.length,
    channels: runbook.notify?.channels ?? {},
  });
  if (options.json) json({ ...p, notExecutable: missing });
  else out(renderPlan(p, missing));
  if (p.blockers.length > 0) throw new ExitError(EXIT.invalid);
}

function parseAt(text: string): string {
  const t = DateTime.fromISO(text, { setZone: true });
  if (!t.isValid) {
    throw new UsageError(
      `--at: cannot read \`${text}\` (${t.invalidExplanation ?? t.invalidReason}); write an ISO 8601 time such as 2025-10-07T10:00-04:00`,
    );
  }
  return text;
}
