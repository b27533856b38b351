/**
 * Releases with migrations, end to end through the real binary: the quickstart service as
 * the deploy target and a real Postgres as its database. A healthy release applies expand
 * migrations before the deploy and contract migrations only after the named checkpoint; a
 * release whose monitoring fails holds the contract back and runs this release's down
 * scripts; a restore-from-dump rollback states the data it loses, waits for the database
 * owner, and restores the schema and data from before the deploy.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { applyPhase } from "../src/migrations/run.js";
import { Migrations } from "../src/runbook/schema/flow.js";
import { type DebianPostgres, startDebianPostgres } from "./helpers/debian-postgres.js";
import { POSTGRES_PASSWORD, type PostgresServer, startPostgres } from "./helpers/postgres-server.js";
import { gantry } from "./helpers/run.js";
import { createDatabase, sql } from "./helpers/sql.js";
import { type Workspace, waitFor, workspace } from "./helpers/workspace.js";

let server: PostgresServer;
let debian: DebianPostgres;
const spaces: Workspace[] = [];
let n = 0;

before(async () => {
  [server, debian] = await Promise.all([startPostgres(), startDebianPostgres()]);
});
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
  await Promise.all([server?.stop(), debian?.stop()]);
});

function database(base: string): Promise<string> {
  return createDatabase(base, `app${++n}`);
}

async function columns(url: string, table: string): Promise<string[]> {
  const r = await sql(
    url,
    `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`,
  );
  return r.rows.map((row) => row.column_name);
}

const MIGRATIONS: Record<string, string> = {
  "0001_users.sql": "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, legacy text);\n",
  "0001_users_rollback.sql": "DROP TABLE users;\n",
  "0002_nickname.sql":
    "-- expand: the new release writes nicknames\nALTER TABLE users ADD COLUMN nickname text;\n",
  "0002_nickname_rollback.sql": "ALTER TABLE users DROP COLUMN nickname;\n",
  "contract/0003_drop_legacy.sql":
    "-- contract: nothing reads legacy any more\nALTER TABLE users DROP COLUMN legacy;\n",
  "contract/0003_drop_legacy_rollback.sql": "ALTER TABLE users ADD COLUMN legacy text;\n",
};

const SECTIONS = `migrations:
  dir: migrations
  contract:
    match: "contract/*.sql"
    after: T+8s
integrity:
  - name: users-count
    query: SELECT count(*) FROM users
    tolerance: 5%
  - name: users-without-email
    query: SELECT count(*) FROM users WHERE email = ''
    expect: 0
`;

/**
 * The quickstart with a database: 0001 came with an earlier release (applied by another
 * run), this release brings 0002 (expand) and 0003 (contract).
 */
async function appWorkspace(url: string, edit: Array<[string | RegExp, string]>): Promise<Workspace> {
  const w = await workspace({
    previous: "1.0.0",
    edit: [
      [
        /( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/,
        "$1    secrets:\n      database_url: env:APP_DATABASE_URL\n    database:\n      url: env:APP_DATABASE_URL\n",
      ],
      ...edit,
    ],
  });
  spaces.push(w);
  const write = (names: string[]) => {
    for (const name of names) {
      const file = path.join(w.dir, "migrations", name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, MIGRATIONS[name]!);
    }
  };
  write(["0001_users.sql", "0001_users_rollback.sql"]);
  const earlier = await applyPhase(
    { migrations: Migrations.parse({ dir: "migrations" }), dir: w.dir, url },
    "expand",
    { runId: "earlier-release" },
  );
  assert.equal(earlier.ok, true, earlier.message);
  write(Object.keys(MIGRATIONS).filter((name) => !name.startsWith("0001")));
  await sql(url, "INSERT INTO users (email, legacy) VALUES ('a@example.com', 'x'), ('b@example.com', 'y')");
  return w;
}

async function events(w: Workspace, run: string, env: Record<string, string>) {
  const log = await w.gantry(["log", run, "--json"], env);
  return log.json as unknown as Array<{ kind: string; step?: string; data: Record<string, unknown> }>;
}

describe("releases with migrations", { concurrency: 3 }, () => {
  it("expand before the deploy, contract only after T+8s is healthy, integrity compared with the baseline", async () => {
    const url = await database(server.url);
    const w = await appWorkspace(url, [["smoke:\n", `${SECTIONS}smoke:\n`]]);
    const env = { APP_DATABASE_URL: url };
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.outcome, "released");
    const log = await events(w, String(r.json!.run), env);
    const at = (kind: string, step: string) => log.findIndex((e) => e.kind === kind && e.step === step);
    const finished = (step: string) => log.find((e) => e.kind === "step.finished" && e.step === step)?.data;
    assert.ok(
      at("step.finished", "migrate:expand") < at("step.started", "deploy"),
      "expand before the deploy",
    );
    assert.ok(
      at("step.finished", "checkpoint:T+8s") < at("step.started", "migrate:contract"),
      "contract after the checkpoint it names",
    );
    assert.match(
      String(finished("migrations")?.message),
      /^lint clean; pending: 1 expand, 1 contract; 1 already applied$/,
    );
    assert.match(
      String(finished("migrate:expand")?.message),
      /^applied 1 expand migration: 0002_nickname\.sql; schema version 0002_nickname\.sql$/,
    );
    assert.match(
      String(finished("migrate:contract")?.message),
      /^applied 1 contract migration: contract\/0003_drop_legacy\.sql/,
    );
    assert.match(String(finished("integrity:users-count")?.message), /2 vs 2 before the deploy/);
    assert.equal(finished("integrity:users-without-email")?.status, "passed");
    assert.deepEqual(await columns(url, "users"), ["id", "email", "nickname"]);
    assert.ok(
      !JSON.stringify(log).includes(POSTGRES_PASSWORD),
      "the database password never reaches the log",
    );
    const ledger = await sql(url, "SELECT name, run_id FROM gantry_migrations ORDER BY name");
    assert.deepEqual(
      ledger.rows.map((row) => [row.name, row.run_id === r.json!.run ? "this run" : row.run_id]),
      [
        ["0001_users.sql", "earlier-release"],
        ["0002_nickname.sql", "this run"],
        ["contract/0003_drop_legacy.sql", "this run"],
      ],
    );
  });

  it("monitoring fails: the contract is held back and this release's down scripts restore the schema", async () => {
    const url = await database(server.url);
    const w = await appWorkspace(url, [
      ["smoke:\n", `${SECTIONS}smoke:\n`],
      ["    - revert: true\n", "    - revert: true\n    - migrations: down\n"],
    ]);
    const env = { APP_DATABASE_URL: url };
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], env);
    assert.equal(r.code, 5, r.stderr);
    assert.match(String(r.json!.reason), /→ rolled back to 1\.0\.0; contract migrations held back;/);
    const log = await events(w, String(r.json!.run), env);
    const contract = log.find((e) => e.kind === "step.finished" && e.step === "migrate:contract");
    assert.equal(contract?.data.status, "skipped");
    assert.match(String(contract?.data.message), /^held back: errors: error_rate/);
    const loss = log.find((e) => e.kind === "migrations.loss");
    assert.deepEqual(loss?.data.applied, ["0002_nickname.sql"]);
    assert.equal(
      loss?.data.statement,
      "the down scripts drop column users.nickname (0 values): data written there since the deploy is lost",
    );
    const down = log.find((e) => e.kind === "step.finished" && e.step === "rollback:2");
    assert.equal(down?.data.message, "reverted 0002_nickname.sql; schema version 0001_users.sql");
    // The earlier release's migration stays: its down script is not this release's to run.
    assert.deepEqual(await columns(url, "users"), ["id", "email", "legacy"]);
    const ledger = await sql(url, "SELECT name, run_id FROM gantry_migrations");
    assert.deepEqual(ledger.rows, [{ name: "0001_users.sql", run_id: "earlier-release" }]);
  });

  it("restore from a dump: states what is lost, waits for the database owner, restores schema and data", async () => {
    const url = await database(debian.url);
    const w = await appWorkspace(url, [
      [
        "smoke:\n",
        `${SECTIONS}backup:
  run: pg_dump "{{ secrets.database_url }}" --format=custom --file "backup-{{ release.version }}.dump"
  file: "backup-{{ release.version }}.dump"
  maxAge: 1h
  latest: date -u +%Y-%m-%dT%H:%M:%SZ
smoke:
`,
      ],
      [
        "  dir: migrations\n",
        `  dir: migrations
  rollback:
    strategy: restore
    restore: pg_restore --clean --if-exists --dbname "{{ secrets.database_url }}" "{{ backup.file }}"
    approval: db-owner
`,
      ],
      ["deploy:\n", "roles:\n  db-owner:\n    members: [dana]\ndeploy:\n"],
      ["    - revert: true\n", "    - revert: true\n    - migrations: restore\n"],
    ]);
    const env = { APP_DATABASE_URL: url, PATH: `${debian.bin}:${process.env.PATH}` };
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], env);
    const view = await waitFor(
      w,
      (v) => String((v.waiting as { what?: string } | undefined)?.what ?? "").includes("restore the backup"),
      undefined,
      child,
    );
    // Written after the deploy, before the restore: the restore discards it, as it said it would.
    await sql(url, "INSERT INTO users (email, nickname) VALUES ('late@example.com', 'late')");
    const approved = await w.gantry(["approve", String(view.id), "--as", "dana"], env);
    assert.equal(approved.code, 0, approved.stderr);
    const r = await child;
    assert.equal(r.code, 5, r.stderr);
    const log = await events(w, String(r.json!.run), env);
    const backup = log.find((e) => e.kind === "step.finished" && e.step === "backup")?.data;
    assert.match(String(backup?.message), /^backup backup-2\.0\.0\.dump taken at \S+, \d+(\.\d)? KiB$/);
    assert.equal((backup?.backup as { file: string } | undefined)?.file, "backup-2.0.0.dump");
    assert.match(
      String(log.find((e) => e.step === "backup-age" && e.kind === "step.finished")?.data.message),
      /^latest backup \S+ is \d+/,
    );
    const loss = log.find((e) => e.kind === "migrations.loss");
    assert.match(
      String(loss?.data.statement),
      /^restoring the backup backup-2\.0\.0\.dump taken at .* discards every write/,
    );
    const restored = log.find((e) => e.kind === "step.finished" && e.step === "rollback:2");
    assert.equal(restored?.data.status, "passed", String(restored?.data.message));
    assert.match(
      String(restored?.data.message),
      /^restored backup-2\.0\.0\.dump; schema version 0001_users\.sql$/,
    );
    assert.deepEqual(await columns(url, "users"), ["id", "email", "legacy"]);
    const emails = await sql(url, "SELECT email FROM users ORDER BY id");
    assert.deepEqual(
      emails.rows.map((row) => row.email),
      ["a@example.com", "b@example.com"],
    );
    const ledger = await sql(url, "SELECT name FROM gantry_migrations");
    assert.deepEqual(ledger.rows, [{ name: "0001_users.sql" }]);
  });
});

describe("gantry migrations", () => {
  it("plan is a dry run from the ledger; lint and validate refuse destructive expand SQL with file:line", async () => {
    const url = await database(server.url);
    const w = await appWorkspace(url, [["smoke:\n", `${SECTIONS}smoke:\n`]]);
    const env = { APP_DATABASE_URL: url };
    const plan = gantry(["migrations", "plan", w.runbook, "--env", "local"], w.dir, env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(
      plan.stdout,
      /expand \(before the deploy\):\n {2}applied {2}migrations\/0001_users\.sql\n {2}pending {2}migrations\/0002_nickname\.sql {2}in one transaction\n {11}rollback: migrations\/0002_nickname_rollback\.sql\n/,
    );
    assert.match(
      plan.stdout,
      /contract \(after T\+8s is healthy\):\n {2}pending {2}migrations\/contract\/0003_drop_legacy\.sql/,
    );
    assert.match(plan.stdout, /2 pending, 1 applied; 1 error|2 pending, 1 applied; .*nothing was changed/);
    assert.deepEqual(await columns(url, "users"), ["id", "email", "legacy"], "the dry run changed nothing");

    const clean = gantry(["migrations", "lint", w.runbook], w.dir, env);
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(
      clean.stdout,
      /contract\/0003_drop_legacy\.sql:2:1: warning: drop-column: DROP COLUMN users\.legacy/,
    );
    // A contract migration is not told to move itself into a contract migration.
    assert.match(clean.stdout, /safer: this already is a contract migration, run after the deploy/);

    fs.writeFileSync(
      path.join(w.dir, "migrations/0004_cleanup.sql"),
      "-- tidy up\n\nDELETE FROM users;\nSELECT FROM;\n",
    );
    fs.writeFileSync(
      path.join(w.dir, "migrations/0005_audit.sql"),
      "CREATE TABLE audit (id int);\n\nTRUNCATE users;\n",
    );
    const lint = gantry(["migrations", "lint", w.runbook], w.dir, env);
    assert.equal(lint.code, 1);
    assert.match(
      lint.stdout,
      /migrations\/0004_cleanup\.sql:4:\d+: error: parse-error: does not parse: syntax error/,
    );
    assert.match(
      lint.stdout,
      /migrations\/0005_audit\.sql:3:1: error: truncate: .*make it a contract migration\n {4}safer: /,
    );
    assert.match(
      lint.stdout,
      /migrations\/0005_audit\.sql: error: missing-rollback: has no rollback script \(migrations\/0005_audit_rollback\.sql\)/,
    );
    const validate = gantry(["validate", w.runbook], w.dir);
    assert.equal(validate.code, 1);
    assert.match(validate.stdout, /0005_audit\.sql:3:1: error: truncate:/);

    fs.rmSync(path.join(w.dir, "migrations/0004_cleanup.sql"));
    fs.rmSync(path.join(w.dir, "migrations/0005_audit.sql"));
    fs.appendFileSync(path.join(w.dir, "migrations/0001_users.sql"), "-- edited after it was applied\n");
    const changed = gantry(["migrations", "plan", w.runbook, "--env", "local"], w.dir, env);
    assert.equal(changed.code, 1);
    assert.match(changed.stdout, /CHANGED {2}migrations\/0001_users\.sql/);
    assert.match(
      changed.stdout,
      /refused: migrations\/0001_users\.sql was changed after it was applied .* by run earlier-release\)/,
    );
  });
});
