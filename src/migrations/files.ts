/**
 * The migration files of a runbook: found under `migrations.dir`, paired with their rollback
 * scripts, assigned to a phase (expand before the deploy, contract after it proves healthy)
 * by file pattern or by what their SQL does, and put in order.
 *
 * Example: with `expand.match: "*.sql"`, `contract.match: "contract/*.sql"` and rollback
 * scripts named `{name}_rollback.sql`, the folder
 *   0001_users.sql  0001_users_rollback.sql  contract/0002_drop_nick.sql  contract/0002_drop_nick_rollback.sql
 * gives expand [0001_users.sql] and contract [contract/0002_drop_nick.sql], each with its script.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import picomatch from "picomatch";
import type { MigrationsSpec as Migrations } from "../runbook/schema/runbook.js";
import { type Analysis, analyzeSql, type LintOptions } from "./lint.js";

export type Phase = "expand" | "contract";

export interface MigrationFile {
  /** Path relative to `migrations.dir` with forward slashes: the key in the ledger. */
  name: string;
  /** Absolute path. */
  path: string;
  /** Path relative to the runbook's folder, as commands see it ({{ migration.file }}). */
  file: string;
  phase: Phase;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
  text: string;
  /** The SQL analysis (.sql files only). */
  analysis?: Analysis;
  rollback?: { name: string; path: string; file: string; text: string; analysis?: Analysis };
}

export interface MigrationSet {
  /** Absolute path of `migrations.dir`. */
  dir: string;
  /** Expand files in order, then contract files in order. */
  files: MigrationFile[];
  /** Files in the folder that no pattern matched (neither a migration nor a rollback script). */
  unmatched: string[];
  /** Set when the folder cannot be read. */
  problem?: string;
}

/** Reads `migrations.dir` (relative to `runbookDir`), pairs and assigns every file. Needs the SQL parser loaded. */
export function readMigrations(m: Migrations, runbookDir: string, lint: LintOptions = {}): MigrationSet {
  const dir = path.resolve(runbookDir, m.dir);
  let all: string[];
  try {
    all = listFiles(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      dir,
      files: [],
      unmatched: [],
      problem:
        code === "ENOENT"
          ? `migrations folder ${m.dir} does not exist (relative to the runbook)`
          : `cannot read migrations folder ${m.dir}: ${(e as Error).message}`,
    };
  }
  const isRollback = rollbackMatcher(m.rollback.scripts);
  const expand = picomatch([m.expand.match].flat());
  const contract = m.contract?.match !== undefined ? picomatch([m.contract.match].flat()) : () => false;
  const files: MigrationFile[] = [];
  const unmatched: string[] = [];
  const scripts = new Set(all.filter(isRollback));
  const used = new Set<string>();
  for (const name of all) {
    if (scripts.has(name)) continue;
    const inContract = contract(name);
    if (!inContract && !expand(name)) {
      unmatched.push(name);
      continue;
    }
    const full = path.join(dir, name);
    const bytes = fs.readFileSync(full);
    const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
    const file = relative(runbookDir, full);
    const sql = name.endsWith(".sql");
    const analysis = sql ? analyzeSql(text, file, lint) : undefined;
    let phase: Phase = inContract ? "contract" : "expand";
    if (m.assign === "analysis" && m.contract) phase = breaks(analysis) ? "contract" : "expand";
    const script = rollbackOf(name, m.rollback.scripts);
    let rollback: MigrationFile["rollback"];
    if (scripts.has(script)) {
      used.add(script);
      const scriptPath = path.join(dir, script);
      const scriptText = fs.readFileSync(scriptPath, "utf8").replace(/^\uFEFF/, "");
      const scriptFile = relative(runbookDir, scriptPath);
      rollback = {
        name: script,
        path: scriptPath,
        file: scriptFile,
        text: scriptText,
        ...(script.endsWith(".sql") ? { analysis: analyzeSql(scriptText, scriptFile, lint) } : {}),
      };
    }
    files.push({
      name,
      path: full,
      file,
      phase,
      checksum: createHash("sha256").update(bytes).digest("hex"),
      text,
      ...(analysis ? { analysis } : {}),
      ...(rollback ? { rollback } : {}),
    });
  }
  // A rollback script whose migration is gone is worth a word too.
  for (const s of scripts) if (!used.has(s)) unmatched.push(s);
  const order = (a: MigrationFile, b: MigrationFile) =>
    path.posix.basename(a.name).localeCompare(path.posix.basename(b.name)) || a.name.localeCompare(b.name);
  return {
    dir,
    files: [
      ...files.filter((f) => f.phase === "expand").sort(order),
      ...files.filter((f) => f.phase === "contract").sort(order),
    ],
    unmatched: unmatched.sort(),
  };
}

/** Whether a migration's SQL would break the release still running beside it (or lose data). */
export function breaks(analysis: Analysis | undefined): boolean {
  return analysis?.findings.some((f) => f.class !== "locking") ?? false;
}

/** `{name}_rollback.sql` for `contract/0002_drop.sql` → `contract/0002_drop_rollback.sql`. */
export function rollbackOf(name: string, pattern: string): string {
  const dir = path.posix.dirname(name);
  const base = path.posix.basename(name).replace(/\.[^.]+$/, "");
  const script = pattern.replaceAll("{name}", base);
  return dir === "." ? script : `${dir}/${script}`;
}

function rollbackMatcher(pattern: string): (name: string) => boolean {
  const escaped = pattern
    .split("{name}")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  const re = new RegExp(`^(?:.*/)?${escaped}$`);
  return (name) => re.test(name);
}

/** Every file under `dir`, relative, with forward slashes, hidden files and folders left out. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) out.push(rel);
    }
  };
  walk("");
  return out;
}

function relative(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join("/");
}
