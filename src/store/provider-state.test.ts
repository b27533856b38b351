/**
 * Deploy provider state in Postgres: one truth for every process on the database, begin and
 * finish each one transaction, and the 0.4 state.json imported once.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { endPool, migrate } from "./database.js";
import { PostgresProviderState } from "./provider-state.js";

let server: PostgresServer;
/** Two pools: two gantry processes on the same database. */
let one: pg.Pool;
let two: pg.Pool;
const dirs: string[] = [];
let services = 0;

function pool(): pg.Pool {
  const p = new pg.Pool({ connectionString: server.url, max: 4 });
  p.on("error", () => undefined);
  return p;
}

/** A service name of its own for each test, and a folder for its legacy state.json. */
function scope(): { service: string; legacyFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-state-"));
  dirs.push(dir);
  return { service: `svc-${++services}`, legacyFile: path.join(dir, "state.json") };
}

before(async () => {
  server = await startPostgres();
  one = pool();
  two = pool();
  await migrate(one);
  // A second process creating the schema again changes nothing.
  await migrate(two);
});

after(async () => {
  await endPool(one, 2000);
  await endPool(two, 2000);
  await server?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("provider state in Postgres", () => {
  it("is one truth for every process on the database", async () => {
    const { service } = scope();
    const a = new PostgresProviderState(one, service, "production");
    const b = new PostgresProviderState(two, service, "production");
    assert.deepEqual(await b.read(), {});
    await a.begin({ key: "r1:deploy", version: "1.0.0", action: "deploy" }, "1.0.0");
    await a.finish("r1:deploy", "ok", "deployed 1.0.0", "1.0.0");
    await a.markGood("1.0.0");
    const seen = await b.read();
    assert.equal(seen.current, "1.0.0");
    assert.equal(seen.lastKnownGood, "1.0.0");
    assert.equal(seen.latest?.key, "r1:deploy");
    assert.equal(seen.latest?.result, "ok");
    assert.equal(seen.latest?.message, "deployed 1.0.0");
    assert.ok(seen.latest?.finishedAt);
    // Another environment of the same service is another record.
    assert.deepEqual(await new PostgresProviderState(two, service, "staging").read(), {});
  });

  it("begin marks the key's unfinished entries interrupted, and only that key's, in the same write", async () => {
    const { service } = scope();
    const state = new PostgresProviderState(one, service, "production");
    await state.begin({ key: "other:deploy", version: "0.9.0", action: "deploy" });
    await state.begin(
      { key: "r2:deploy", version: "2.0.0", action: "deploy", previousVersion: "1.0.0" },
      "2.0.0",
    );
    await state.begin(
      { key: "r2:deploy", version: "2.0.0", action: "deploy", previousVersion: "1.0.0" },
      "2.0.0",
    );
    assert.deepEqual(
      (await state.entries()).map((e) => [e.key, e.result]),
      [
        ["other:deploy", "in-progress"],
        ["r2:deploy", "interrupted"],
        ["r2:deploy", "in-progress"],
      ],
    );
    assert.equal((await state.entry("r2:deploy"))?.previousVersion, "1.0.0");
    assert.equal((await state.read()).current, "2.0.0");
    await state.finish("r2:deploy", "failed", "2.0.0 exited", null);
    assert.equal((await state.entry("r2:deploy"))?.result, "failed");
    assert.equal((await state.read()).current, undefined);
    assert.equal((await state.entries(2)).length, 2);
  });

  it("imports a 0.4 state.json once, when the database knows nothing of the service yet", async () => {
    const { service, legacyFile } = scope();
    fs.writeFileSync(
      legacyFile,
      JSON.stringify({
        current: { version: "1.1.0", pid: 4242, startedAt: "2025-01-02T00:00:00.000Z" },
        lastKnownGood: "1.0.0",
        deploys: [
          {
            key: "a:deploy",
            version: "1.0.0",
            action: "deploy",
            startedAt: "2025-01-01T00:00:00.000Z",
            result: "ok",
            finishedAt: "2025-01-01T00:00:02.000Z",
            message: "deployed 1.0.0",
          },
          {
            key: "b:deploy",
            version: "1.1.0",
            action: "deploy",
            startedAt: "2025-01-02T00:00:00.000Z",
            result: "in-progress",
            previousVersion: "1.0.0",
          },
          { key: "junk", action: "deploy" },
        ],
      }),
    );
    // Two processes reaching it at once: it is imported once.
    const [a, b] = [
      new PostgresProviderState(one, service, "production", { legacyFile }),
      new PostgresProviderState(two, service, "production", { legacyFile }),
    ];
    const [ra, rb] = await Promise.all([a.read(), b.read()]);
    assert.equal(ra.current, "1.1.0");
    assert.equal(rb.lastKnownGood, "1.0.0");
    const entries = await a.entries();
    assert.deepEqual(
      entries.map((e) => [e.key, e.version, e.result, e.startedAt]),
      [
        ["a:deploy", "1.0.0", "ok", "2025-01-01T00:00:00.000Z"],
        ["b:deploy", "1.1.0", "in-progress", "2025-01-02T00:00:00.000Z"],
      ],
    );
    assert.equal(entries[0]?.message, "deployed 1.0.0");
    assert.equal(entries[1]?.previousVersion, "1.0.0");

    // From then on the file is not read again.
    fs.writeFileSync(legacyFile, "{ not json");
    const later = new PostgresProviderState(one, service, "production", { legacyFile });
    assert.equal(await later.lastKnownGood(), "1.0.0");
    assert.equal((await later.entries()).length, 2);
  });

  it("does not import a state.json over what the database already knows", async () => {
    const { service, legacyFile } = scope();
    await new PostgresProviderState(one, service, "production").markGood("2.0.0");
    fs.writeFileSync(legacyFile, JSON.stringify({ lastKnownGood: "1.0.0", deploys: [] }));
    const state = new PostgresProviderState(one, service, "production", { legacyFile });
    assert.equal(await state.lastKnownGood(), "2.0.0");
  });

  it("says which file is broken when a state.json to import is not JSON", async () => {
    const { service, legacyFile } = scope();
    fs.writeFileSync(legacyFile, "{ broken");
    const state = new PostgresProviderState(one, service, "production", { legacyFile });
    await assert.rejects(
      state.read(),
      (e: Error) =>
        e.message.startsWith(
          `${legacyFile} (provider state from Gantry 0.4, imported once) is not valid JSON (`,
        ) && e.message.endsWith("); fix or remove it"),
    );
    // Nothing half-imported: fixed, it imports.
    fs.writeFileSync(legacyFile, JSON.stringify({ lastKnownGood: "1.0.0", deploys: [] }));
    assert.equal(await state.lastKnownGood(), "1.0.0");
  });
});
