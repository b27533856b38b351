/**
 * `gantry migrations lint FILE [--env NAME] [--json]`: parses every migration with the
 * PostgreSQL parser and reports destructive, breaking and locking statements with file:line
 * and a safer form. With --env, table sizes come from that environment's database.
 *
 * `gantry migrations plan FILE --env NAME [--json]`: the dry run. Reads the ledger in the
 * environment's database and shows, per phase, what a release would apply and how; changes
 * nothing.
 *
 * Both exit 1 when a release would refuse the migrations (lint errors, a changed file).
 */
import path from "node:path";
import { baseValues, environmentScope } from "../checks/scope.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { runCommand } from "../exec/command.js";
import { checkMigrations, formatProblem, type MigrationProblem } from "../migrations/check.js";
import { changedMessage } from "../migrations/database.js";
import type { MigrationFile } from "../migrations/files.js";
import { loadSet, type MigrationTarget, status, withDatabase } from "../migrations/run.js";
import { renderCommand } from "../runbook/command-template.js";
import { loadRunbook } from "../runbook/load.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { closest } from "../runbook/suggest.js";
import { err, json, out, printDiagnostics } from "./output.js";

export interface MigrationsOptions {
  env?: string;
  json?: boolean;
  ref?: string;
}

export async function lint(file: string, options: MigrationsOptions): Promise<void> {
  const { runbook, target } = open(file, options, false);
  const set = target.url
    ? await withDatabase(target as MigrationTarget, (db) => loadSet(target as MigrationTarget, db))
    : await loadSet(target as MigrationTarget);
  const problems = shown(checkMigrations(runbook.migrations!, set), target.dir);
  const errors = problems.filter((p) => p.severity === "error").length;
  if (options.json) {
    json({
      ok: errors === 0,
      files: set.files.map((f) => ({ file: f.file, phase: f.phase, rollback: f.rollback?.file ?? null })),
      problems,
    });
  } else {
    for (const p of problems) out(formatProblem(p));
    const expand = set.files.filter((f) => f.phase === "expand").length;
    out(
      `${runbook.migrations!.dir}: ${set.files.length} migration${set.files.length === 1 ? "" : "s"} (${expand} expand, ${set.files.length - expand} contract); ${summary(problems)}`,
    );
  }
  if (errors > 0) throw new ExitError(EXIT.invalid);
}

export async function plan(file: string, options: MigrationsOptions): Promise<void> {
  const { runbook, target, render, renderReal } = open(file, options, true);
  const m = runbook.migrations!;
  const { set, status: st } = await status(target as MigrationTarget);
  const problems = shown(checkMigrations(m, set), target.dir);
  const applied = new Set(st.applied.map((f) => f.name));
  const changed = new Set(st.changed.map((c) => c.file.name));
  const stateOf = (f: MigrationFile) =>
    applied.has(f.name) ? "applied" : changed.has(f.name) ? "CHANGED" : "pending";
  const how = (f: MigrationFile) =>
    m.runner === "command"
      ? `runs: ${render(m.command!.apply, f)}`
      : f.analysis?.statements.every((s) => s.transactional)
        ? "in one transaction"
        : "statement by statement (cannot run in a transaction)";
  const dryRun = m.runner === "command" && m.command?.dryRun ? m.command.dryRun : undefined;
  if (options.json) {
    json({
      environment: options.env,
      table: m.table,
      files: set.files.map((f) => ({
        file: f.file,
        phase: f.phase,
        state: stateOf(f),
        how: how(f),
        rollback: f.rollback?.file ?? null,
      })),
      missing: st.missing,
      problems,
    });
  } else {
    out(`migrations for ${options.env} (${m.dir}, ledger ${m.table}, ${m.runner} runner)`);
    for (const phase of ["expand", "contract"] as const) {
      const files = set.files.filter((f) => f.phase === phase);
      const when =
        phase === "expand" ? "before the deploy" : `after ${m.contract?.after ?? "the deploy"} is healthy`;
      out(`\n${phase} (${when}):`);
      if (files.length === 0) out("  none");
      for (const f of files) {
        const state = stateOf(f);
        out(`  ${state.padEnd(8)} ${f.file}${state === "pending" ? `  ${how(f)}` : ""}`);
        if (state !== "applied") out(`           rollback: ${f.rollback?.file ?? "none"}`);
      }
    }
    for (const row of st.missing)
      out(`\nin the ledger but not in ${m.dir}: ${row.name} (applied ${row.appliedAt})`);
    if (st.changed.length) out(`\nrefused: ${changedMessage(st.changed)}`);
    if (problems.length) out("");
    for (const p of problems) out(formatProblem(p));
    if (dryRun) {
      out(`\n$ ${render(dryRun, undefined)}`);
      const r = await runCommand(renderReal(dryRun, undefined), { cwd: target.dir, timeoutMs: 600_000 });
      out(target.redact(r.output.join("\n")));
    }
    const pending = set.files.filter((f) => stateOf(f) === "pending").length;
    out(`\n${pending} pending, ${applied.size} applied; ${summary(problems)}; nothing was changed`);
  }
  if (problems.some((p) => p.severity === "error") || st.changed.length) throw new ExitError(EXIT.invalid);
}

interface Opened {
  runbook: Runbook;
  target: Omit<MigrationTarget, "url"> & { url?: string; redact: (t: string) => string };
  /** Fills in a template for display: secrets masked. */
  render: (template: string, f: MigrationFile | undefined) => string;
  /** Fills in a template to run it. */
  renderReal: (template: string, f: MigrationFile | undefined) => string;
}

function open(file: string, options: MigrationsOptions, needEnv: boolean): Opened {
  const loaded = loadRunbook(file);
  // Errors only, as many as validate lists, then how many more there are.
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  printDiagnostics(err, {
    file,
    diagnostics: errors,
    omitted: { errors: loaded.omitted.errors, warnings: 0 },
  });
  if (!loaded.runbook) {
    err(`${file}: invalid; fix the errors above (gantry validate ${file})`);
    throw new ExitError(EXIT.invalid);
  }
  const runbook = loaded.runbook;
  const m = runbook.migrations;
  if (!m) throw new UsageError(`${file} has no migrations section`);
  const dir = path.dirname(path.resolve(file));
  if (options.env === undefined) {
    if (needEnv)
      throw new UsageError("--env <name> is required: the ledger is in that environment's database");
    return {
      runbook,
      target: { migrations: m, dir, redact: (t) => t },
      render: (t) => t,
      renderReal: (t) => t,
    };
  }
  const envs = Object.keys(runbook.environments);
  if (!envs.includes(options.env)) {
    const near = closest(options.env, envs);
    throw new UsageError(
      `--env: no environment ${options.env} in ${file}${near ? `; did you mean ${near}?` : ""} (environments: ${envs.join(", ")})`,
    );
  }
  const scope = environmentScope(runbook, options.env, file);
  const db = scope.spec.database;
  if (!db)
    throw new UsageError(`environment ${options.env} has no database.url; the migrations ledger is there`);
  let url: string;
  try {
    url = scope.field(db.url, `environments.${options.env}.database.url`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const versionQuery = m.schemaVersion?.query ?? db.schemaVersion;
  const values = (f: MigrationFile | undefined) => ({
    ...baseValues(runbook, scope.name, file, scope.secrets),
    release: { version: options.ref ?? "<version>" },
    ...(f ? { migration: { file: f.file, name: f.name } } : {}),
  });
  return {
    runbook,
    target: {
      migrations: m,
      dir,
      url,
      redact: scope.secrets.redact,
      ...(versionQuery ? { versionQuery } : {}),
    },
    render: (t, f) => scope.secrets.redact(renderCommand(t, values(f))),
    renderReal: (t, f) => renderCommand(t, values(f)),
  };
}

/** Problems name files relative to the runbook; shown relative to where gantry runs, like validate's. */
function shown(problems: MigrationProblem[], dir: string): MigrationProblem[] {
  return problems.map((p) => ({ ...p, file: path.relative(process.cwd(), path.join(dir, p.file)) || "." }));
}

function summary(problems: MigrationProblem[]): string {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  if (problems.length === 0) return "no findings";
  return `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
}
