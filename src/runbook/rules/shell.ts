/**
 * A `{{ … }}` in a shell command must sit where Gantry can write its value as data: outside
 * quotes, inside '…' or "…", or inside $( … ). Backticks, ${ … } and here-documents are refused
 * here, at validation, as they would be at run time (see src/runbook/shell.ts).
 */

import { commandPlacementProblems } from "../command-template.js";
import type { Path } from "../diagnostics.js";
import type { RunbookRule } from "./context.js";

/** Keys whose string is a shell command, by the section it is in. */
const COMMAND_KEYS: Record<string, ReadonlySet<string>> = {
  gates: new Set(["run"]),
  preflight: new Set(["run"]),
  schedule: new Set(["run"]),
  backup: new Set(["run", "latest"]),
  migrations: new Set(["apply", "dryRun", "restore"]),
  deploy: new Set(["deploy", "rollback", "status", "version", "start"]),
  rollback: new Set(["run"]),
  checks: new Set(["run"]),
  smoke: new Set(["run"]),
  environments: new Set(["run"]),
};

export const commandsQuotable: RunbookRule = (ctx) => {
  const visit = (value: unknown, path: Array<string | number>): void => {
    if (typeof value === "string") {
      const key = path[path.length - 1];
      const section = path[0];
      if (typeof key === "string" && typeof section === "string" && COMMAND_KEYS[section]?.has(key)) {
        for (const p of commandPlacementProblems(value)) ctx.error(path as Path, p.message);
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...path, i]));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
    }
  };
  visit(ctx.raw, []);
};
