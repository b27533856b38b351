/**
 * Migration figures for `npm run bench`: `gantry migrations lint` over 500 generated files
 * (a whole process, parser load included), and the sql runner applying 100 small files to
 * an embedded Postgres, each in its own transaction with its ledger row.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { applyPhase } from "../src/migrations/run.js";
import { Migrations } from "../src/runbook/schema/flow.js";
import { startPostgres } from "../test/helpers/postgres-server.js";
import type { Row } from "./engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = path.join(ROOT, "bin/gantry.js");

/** Migration number i: a table, a column, a backfill, an index; every fifth one drops something. */
function migration(i: number): string {
  const t = `t${i}`;
  const lines = [
    `-- migration ${i}: table ${t}`,
    `CREATE TABLE ${t} (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());`,
    `ALTER TABLE ${t} ADD COLUMN note text;`,
    `UPDATE ${t} SET note = 'n' WHERE note IS NULL;`,
    `CREATE INDEX ${t}_name ON ${t} (name);`,
    `INSERT INTO ${t} (name) VALUES ('a'), ('b'), ('c');`,
  ];
  if (i % 5 === 0) lines.push(`ALTER TABLE ${t} DROP COLUMN note;`);
  return `${lines.join("\n")}\n`;
}

function folder(count: number, runbook: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-mig-"));
  fs.mkdirSync(path.join(dir, "migrations/contract"), { recursive: true });
  for (let i = 1; i <= count; i++) {
    const name = String(i).padStart(4, "0");
    const sub = i % 5 === 0 ? "contract/" : "";
    fs.writeFileSync(path.join(dir, "migrations", `${sub}${name}_t${i}.sql`), migration(i));
    fs.writeFileSync(path.join(dir, "migrations", `${sub}${name}_t${i}_rollback.sql`), `DROP TABLE t${i};\n`);
  }
  fs.writeFileSync(path.join(dir, "runbook.yaml"), runbook);
  return dir;
}

const RUNBOOK = `apiVersion: gantry/v1
metadata: { name: bench, service: bench }
environments:
  local:
    url: http://127.0.0.1:9
    database: { url: env:BENCH_DATABASE_URL }
release: { tags: "v*" }
deploy: { provider: command, deploy: "true", rollback: "true" }
migrations:
  dir: migrations
  contract: { match: "contract/*.sql", after: deploy }
rollback:
  target: 5m
  steps:
    - revert: true
    - migrations: down
`;

export async function migrationRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const lintDir = folder(500, RUNBOOK);
  const file = path.join(lintDir, "runbook.yaml");
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const r = spawnSync(process.execPath, [BIN, "migrations", "lint", file], { encoding: "utf8" });
    times.push(performance.now() - start);
    if (r.status !== 0)
      throw new Error(`migrations lint exited ${r.status}: ${r.stdout.slice(-500)}${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  rows.push([
    "gantry migrations lint, 500 files of 6-7 statements (wall, median of 5)",
    `${times[2]!.toFixed(0)} ms (min ${times[0]!.toFixed(0)})`,
    "≤ 2 s",
    `node bin/gantry.js migrations lint ${file}`,
  ]);
  fs.rmSync(lintDir, { recursive: true, force: true });

  const server = await startPostgres();
  const applyDir = folder(100, RUNBOOK);
  try {
    const migrations = Migrations.parse({
      dir: "migrations",
      contract: { match: "contract/*.sql", after: "deploy" },
    });
    const target = { migrations, dir: applyDir, url: server.url };
    const start = performance.now();
    const expand = await applyPhase(target, "expand", { runId: "bench" });
    const contract = await applyPhase(target, "contract", { runId: "bench" });
    const ms = performance.now() - start;
    if (!expand.ok || !contract.ok) throw new Error(`${expand.message}; ${contract.message}`);
    rows.push([
      "sql runner: apply 100 small migrations, each in a transaction with its ledger row (embedded Postgres)",
      `${ms.toFixed(0)} ms (${(ms / 100).toFixed(1)} ms/file)`,
      "printed",
      "npm run bench",
    ]);
  } finally {
    await server.stop();
    fs.rmSync(applyDir, { recursive: true, force: true });
  }
  return rows;
}
