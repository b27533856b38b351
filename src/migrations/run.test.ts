/**
 * The migration runner against a real embedded Postgres (one server, a database per test):
 * phases in order with a checksummed ledger, a changed applied file refused, a file failing
 * half-way leaving the database as before it, statements that cannot run in a transaction,
 * down scripts of this run only, what a rollback would lose, and the seeds' migration sets
 * applied and undone to the schema they started from.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { ROOT } from "../../test/helpers/paths.js";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { createDatabase, sql } from "../../test/helpers/sql.js";
import { loadRunbook } from "../runbook/load.js";
import { Migrations } from "../runbook/schema/flow.js";
import type { MigrationsSpec } from "../runbook/schema/runbook.js";
import { applyPhase, lossStatement, type MigrationTarget, preflight, revertRun, status } from "./run.js";

let server: PostgresServer;
let n = 0;

before(async () => {
  server = await startPostgres();
});
after(() => server?.stop());

/** A new empty database on the shared server. */
function database(): Promise<string> {
  return createDatabase(server.url, `m${++n}_${process.pid}`);
}

/** Column list of the public schema (table.column type), the shape a rollback must restore. */
async function shape(url: string): Promise<string[]> {
  const r = await sql(
    url,
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS c
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'gantry_migrations'
      ORDER BY table_name, ordinal_position`,
  );
  return r.rows.map((row) => row.c);
}

/** A folder of migration files under a temporary runbook folder. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-mig-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, "migrations", name)), { recursive: true });
    fs.writeFileSync(path.join(dir, "migrations", name), text);
  }
  return dir;
}

function spec(extra: Record<string, unknown> = {}): MigrationsSpec {
  return Migrations.parse({
    dir: "migrations",
    contract: { match: "contract/*.sql", after: "T+5m" },
    ...extra,
  });
}

const BASE = {
  "0001_users.sql": "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, legacy text);\n",
  "0001_users_rollback.sql": "DROP TABLE users;\n",
  "0002_nickname.sql": "-- expand: a nullable column\nALTER TABLE users ADD COLUMN nickname text;\n",
  "0002_nickname_rollback.sql": "ALTER TABLE users DROP COLUMN nickname;\n",
  "contract/0003_drop_legacy.sql": "ALTER TABLE users DROP COLUMN legacy;\n",
  "contract/0003_drop_legacy_rollback.sql": "ALTER TABLE users ADD COLUMN legacy text;\n",
};

test("expand then contract, in order, each recorded with its checksum and run", async () => {
  const url = await database();
  const t: MigrationTarget = { migrations: spec(), dir: folder(BASE), url };
  const expand = await applyPhase(t, "expand", { runId: "run-1" });
  assert.equal(expand.ok, true, expand.message);
  assert.deepEqual(expand.data?.applied, ["0001_users.sql", "0002_nickname.sql"]);
  assert.match(expand.message, /schema version 0002_nickname\.sql/);
  assert.ok((await shape(url)).includes("users.legacy text YES"), "contract not applied yet");
  const contract = await applyPhase(t, "contract", { runId: "run-1" });
  assert.equal(contract.ok, true, contract.message);
  assert.deepEqual(contract.data?.applied, ["contract/0003_drop_legacy.sql"]);
  assert.ok(!(await shape(url)).some((c) => c.startsWith("users.legacy")));
  const ledger = await sql(
    url,
    "SELECT name, length(checksum) AS len, run_id FROM gantry_migrations ORDER BY name",
  );
  assert.deepEqual(
    ledger.rows.map((r) => [r.name, r.len, r.run_id]),
    [
      ["0001_users.sql", 64, "run-1"],
      ["0002_nickname.sql", 64, "run-1"],
      ["contract/0003_drop_legacy.sql", 64, "run-1"],
    ],
  );
  const again = await applyPhase(t, "expand", { runId: "run-2" });
  assert.match(again.message, /no pending expand migrations/);
});

test("an applied file that was changed is refused, before anything runs", async () => {
  const url = await database();
  const dir = folder(BASE);
  const t: MigrationTarget = { migrations: spec(), dir, url };
  assert.equal((await applyPhase(t, "expand", { runId: "run-1" })).ok, true);
  fs.writeFileSync(
    path.join(dir, "migrations/0002_nickname.sql"),
    "ALTER TABLE users ADD COLUMN nick text;\n",
  );
  fs.writeFileSync(path.join(dir, "migrations/0004_more.sql"), "ALTER TABLE users ADD COLUMN more text;\n");
  fs.writeFileSync(
    path.join(dir, "migrations/0004_more_rollback.sql"),
    "ALTER TABLE users DROP COLUMN more;\n",
  );
  const r = await applyPhase(t, "expand", { runId: "run-2" });
  assert.equal(r.ok, false);
  assert.match(
    r.message,
    /^refused: migrations\/0002_nickname\.sql was changed after it was applied \(.* by run run-1\)/,
  );
  assert.ok(!(await shape(url)).includes("users.more text YES"), "the new file did not run");
  const pre = await preflight(t);
  assert.equal(pre.ok, false);
  assert.match(pre.message, /0002_nickname\.sql was changed after it was applied/);
});

test("a file failing half-way leaves the database as it was before that file", async () => {
  const url = await database();
  const t: MigrationTarget = {
    migrations: spec(),
    dir: folder({
      ...BASE,
      "0003_orders.sql":
        "CREATE TABLE orders (id int);\nINSERT INTO orders VALUES (1);\nINSERT INTO missing VALUES (1);\n",
      "0003_orders_rollback.sql": "DROP TABLE orders;\n",
      "0004_later.sql": "CREATE TABLE later (id int);\n",
      "0004_later_rollback.sql": "DROP TABLE later;\n",
    }),
    url,
  };
  const before = await (async () => {
    // The shape before 0003: apply 0001-0002 through a folder without the failing file.
    const probe = await database();
    await applyPhase({ ...t, url: probe, dir: folder(BASE) }, "expand", { runId: "x" });
    return shape(probe);
  })();
  const r = await applyPhase(t, "expand", { runId: "run-1" });
  assert.equal(r.ok, false);
  assert.match(
    r.message,
    /^expand migration failed: migrations\/0003_orders\.sql:3:13: relation "missing" does not exist; the file was rolled back; applied before it: 0001_users\.sql, 0002_nickname\.sql$/,
  );
  assert.deepEqual(await shape(url), before);
  const ledger = await sql(url, "SELECT name FROM gantry_migrations ORDER BY name");
  assert.deepEqual(
    ledger.rows.map((row) => row.name),
    ["0001_users.sql", "0002_nickname.sql"],
  );
});

test("a statement Postgres refuses in a transaction runs on its own", async () => {
  const url = await database();
  const t: MigrationTarget = {
    migrations: spec(),
    dir: folder({
      ...BASE,
      "0003_email_index.sql": "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
      "0003_email_index_rollback.sql": "DROP INDEX CONCURRENTLY users_email;\n",
    }),
    url,
  };
  const r = await applyPhase(t, "expand", { runId: "run-1" });
  assert.equal(r.ok, true, r.message);
  const idx = await sql(url, "SELECT indexname FROM pg_indexes WHERE indexname = 'users_email'");
  assert.equal(idx.rowCount, 1);
});

test("a rollback states what it would lose and undoes this run's migrations only", async () => {
  const url = await database();
  const dir = folder(BASE);
  const t: MigrationTarget = { migrations: spec(), dir, url, versionQuery: undefined };
  // 0001 came with an earlier release; this release brings 0002 (and its data).
  fs.renameSync(path.join(dir, "migrations/0002_nickname.sql"), path.join(dir, "0002.hold"));
  await applyPhase(t, "expand", { runId: "earlier" });
  fs.renameSync(path.join(dir, "0002.hold"), path.join(dir, "migrations/0002_nickname.sql"));
  await applyPhase(t, "expand", { runId: "this" });
  await sql(url, "INSERT INTO users (email, nickname) VALUES ('a@x', 'al'), ('b@x', NULL)");

  const down = await lossStatement(t, "this", "down", undefined, Date.now());
  assert.deepEqual(down.applied, ["0002_nickname.sql"]);
  assert.equal(
    down.statement,
    "the down scripts drop column users.nickname (1 value): data written there since the deploy is lost",
  );
  assert.equal(down.losesData, true);
  const restore = await lossStatement(
    t,
    "this",
    "restore",
    { id: "pre.dump", at: new Date(Date.now() - 60_000).toISOString() },
    Date.now(),
  );
  assert.match(
    restore.statement,
    /^restoring the backup pre\.dump taken at .* \(1m ago\) discards every write/,
  );
  const none = await lossStatement(t, "nobody", "down", undefined, Date.now());
  assert.equal(none.statement, "this release applied no migrations; the schema is unchanged");

  const r = await revertRun(t, "this");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.message, "reverted 0002_nickname.sql; schema version 0001_users.sql");
  assert.ok((await shape(url)).includes("users.email text NO"), "the earlier release's table stays");
  const ledger = await sql(url, "SELECT name, run_id FROM gantry_migrations");
  assert.deepEqual(ledger.rows, [{ name: "0001_users.sql", run_id: "earlier" }]);
  assert.match((await revertRun(t, "this")).message, /applied no migrations; nothing to undo/);
});

test("the command runner records what the team's tool applied; the dry run lists it", async () => {
  const url = await database();
  const t: MigrationTarget = {
    migrations: spec({ runner: "command", command: { apply: "x" } }),
    dir: folder(BASE),
    url,
  };
  const seen: string[] = [];
  const r = await applyPhase(t, "expand", {
    runId: "run-1",
    command: async (f) => {
      seen.push(f.file);
      await sql(url, f.text);
      return { ok: true, message: "exit 0" };
    },
  });
  assert.equal(r.ok, true, r.message);
  assert.deepEqual(seen, ["migrations/0001_users.sql", "migrations/0002_nickname.sql"]);
  const failing = await applyPhase(t, "contract", {
    runId: "run-1",
    command: async () => ({ ok: false, message: "exit 1: boom" }),
  });
  assert.match(
    failing.message,
    /^contract migration failed: migrations\/contract\/0003_drop_legacy\.sql: exit 1: boom$/,
  );
  const s = await status(t);
  assert.deepEqual(
    s.status.applied.map((f) => f.name),
    ["0001_users.sql", "0002_nickname.sql"],
  );
  assert.deepEqual(
    s.status.pending.map((f) => f.name),
    ["contract/0003_drop_legacy.sql"],
  );
});

for (const seed of ["001-supabase", "002-replit-neon-stripe", "004-kubernetes-supabase"]) {
  test(`seed ${seed}: expand, contract, then the down scripts restore the schema step by step`, async () => {
    const file = path.join(ROOT, "examples/seeds", seed, "runbook.yaml");
    const loaded = loadRunbook(file);
    assert.ok(loaded.runbook, JSON.stringify(loaded.diagnostics));
    const url = await database();
    const t: MigrationTarget = { migrations: loaded.runbook.migrations!, dir: path.dirname(file), url };
    const empty = await shape(url);
    const expand = await applyPhase(t, "expand", { runId: "r" });
    assert.equal(expand.ok, true, expand.message);
    const afterExpand = await shape(url);
    const contract = await applyPhase(t, "contract", { runId: "r2" });
    assert.equal(contract.ok, true, contract.message);
    assert.ok(
      ((contract.data?.applied as string[] | undefined) ?? []).length > 0,
      "the seed has contract migrations",
    );
    assert.notDeepEqual(await shape(url), afterExpand);
    assert.equal((await revertRun(t, "r2")).ok, true);
    assert.deepEqual(await shape(url), afterExpand, "the contract's down scripts restore the expand schema");
    const down = await revertRun(t, "r");
    assert.equal(down.ok, true, down.message);
    assert.deepEqual(await shape(url), empty);
  });
}

test("schemaVersion.expect: ledger — the version must be the ledger's newest applied migration", async () => {
  const url = await database();
  await sql(url, "CREATE TABLE schema_migrations (version text NOT NULL)");
  const migrations = spec({
    schemaVersion: {
      query: "SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1",
      expect: "ledger",
    },
  });
  const files = {
    "0001_users.sql": "CREATE TABLE users (id int);\nINSERT INTO schema_migrations VALUES ('0001');\n",
    "0001_users_rollback.sql": "DROP TABLE users;\nDELETE FROM schema_migrations WHERE version = '0001';\n",
    "0002_email.sql":
      "ALTER TABLE users ADD COLUMN email text;\nINSERT INTO schema_migrations VALUES ('0002_email');\n",
    "0002_email_rollback.sql":
      "ALTER TABLE users DROP COLUMN email;\nDELETE FROM schema_migrations WHERE version = '0002_email';\n",
  };
  const t: MigrationTarget = {
    migrations,
    dir: folder(files),
    url,
    versionQuery: migrations.schemaVersion!.query,
  };
  // The number the name starts with, or the name without .sql: both are the ledger's version.
  const expand = await applyPhase(t, "expand", { runId: "run-1", expectVersion: "ledger" });
  assert.equal(expand.ok, true, expand.message);
  assert.match(expand.message, /schema version 0002_email/);
  assert.equal((await preflight(t)).ok, true);
  // A migration applied outside Gantry: the pre-flight says so.
  await sql(url, "INSERT INTO schema_migrations VALUES ('0003_hotfix')");
  const drifted = await preflight(t);
  assert.equal(drifted.ok, false);
  assert.match(
    drifted.message,
    /schema version is 0003_hotfix, but the newest migration Gantry's ledger records as applied is 0002_email: a migration was applied or undone outside Gantry/,
  );
  await sql(url, "DELETE FROM schema_migrations WHERE version = '0003_hotfix'");
  // A rollback script that forgets the version row leaves the database at another version than
  // the ledger's (this run's two files undone: none applied).
  fs.writeFileSync(
    path.join(t.dir, "migrations/0002_email_rollback.sql"),
    "ALTER TABLE users DROP COLUMN email;\n",
  );
  const reverted = await revertRun(t, "run-1");
  assert.equal(reverted.ok, false);
  assert.match(
    reverted.message,
    /reverted 0002_email\.sql, 0001_users\.sql; schema version is 0002_email, and Gantry's ledger has no applied migration/,
  );
});
