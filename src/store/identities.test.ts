/**
 * Identities and tokens in a real Postgres: only a token's hash is stored, lookups compare
 * in constant time and tell valid, expired and revoked apart, the first administrator is
 * added once even when two processes try at the same moment.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../../test/helpers/postgres-server.js";
import { endPool, migrate } from "./database.js";
import {
  activeAdministrators,
  addIdentity,
  changeRoles,
  countIdentities,
  createToken,
  findToken,
  getIdentity,
  getToken,
  listIdentities,
  parseToken,
  revokeIdentity,
  revokeToken,
} from "./identities.js";

let server: PostgresServer;
let one: pg.Pool;
let two: pg.Pool;

function pool(): pg.Pool {
  const p = new pg.Pool({ connectionString: server.url, max: 4 });
  p.on("error", () => undefined);
  return p;
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
});

const added = async (name: string, admin = false, roles: string[] = []) => {
  const r = await addIdentity(one, { name, roles, admin, by: "tester" });
  assert.ok(typeof r === "object", `${name}: ${String(r)}`);
  return r;
};

describe("identities in Postgres", () => {
  it("adds the first identity once, even when two processes add one at the same moment", async () => {
    assert.equal(await countIdentities(one), 0);
    const [a, b] = await Promise.all([
      addIdentity(one, { name: "first-a", roles: [], admin: true, by: "os-a", onlyIfFirst: true }),
      addIdentity(two, { name: "first-b", roles: [], admin: true, by: "os-b", onlyIfFirst: true }),
    ]);
    assert.deepEqual([a, b].filter((r) => r === "not-first").length, 1, `${String(a)} ${String(b)}`);
    assert.equal(await countIdentities(one), 1);
    const again = await addIdentity(one, {
      name: "third",
      roles: [],
      admin: true,
      by: "x",
      onlyIfFirst: true,
    });
    assert.equal(again, "not-first");
    assert.equal(await countIdentities(one), 1);
  });

  it("stores roles sorted and once, refuses a name taken, and lists identities with their tokens", async () => {
    const ana = await added("ana", false, ["sre", "approver", "sre"]);
    assert.deepEqual(ana.identity.roles, ["approver", "sre"]);
    assert.equal(ana.identity.createdBy, "tester");
    assert.equal(await addIdentity(one, { name: "ana", roles: [], admin: false, by: "x" }), "exists");
    assert.deepEqual((await getIdentity(two, "ana"))?.roles, ["approver", "sre"]);
    assert.equal(await getIdentity(two, "nobody"), undefined);
    const listed = (await listIdentities(two)).find((i) => i.name === "ana");
    assert.deepEqual(
      listed?.tokens.map((t) => t.id),
      [ana.token.record.id],
    );
    assert.ok(!JSON.stringify(listed).includes("hash"), "a listing shows no hash");
  });

  it("keeps only the SHA-256 of a token's secret", async () => {
    const { token } = await added("hash-only");
    const parsed = parseToken(token.text);
    assert.ok(parsed, token.text);
    assert.match(token.text, /^gantry_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(parsed.secret, "base64url").length, 32);
    const rows = await one.query(
      "SELECT row_to_json(t)::text AS j, hash FROM gantry.tokens t WHERE id = $1",
      [parsed.id],
    );
    assert.equal(rows.rows[0].hash, createHash("sha256").update(parsed.secret).digest("hex"));
    assert.ok(!rows.rows[0].j.includes(parsed.secret), "the secret is stored");
    assert.ok(!rows.rows[0].j.includes(token.text), "the token is stored");
  });

  it("finds a valid token and notes its use; a wrong secret, an unknown id or garbage finds nothing", async () => {
    const { token } = await added("finder", false, ["dba"]);
    assert.equal((await getToken(one, token.record.id))?.lastUsedAt, null);
    const found = await findToken(two, token.text);
    assert.equal(found?.status, "valid");
    assert.equal(found?.identity.name, "finder");
    assert.deepEqual(found?.identity.roles, ["dba"]);
    assert.ok(found?.token.lastUsedAt, "last_used_at is set");
    assert.equal((await getToken(one, token.record.id))?.lastUsedAt, found?.token.lastUsedAt);
    const secret = parseToken(token.text)!.secret;
    const wrong = `gantry_${token.record.id}_${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    assert.equal(await findToken(one, wrong), undefined);
    assert.equal(await findToken(one, `gantry_000000000000_${secret}`), undefined);
    for (const garbage of ["", "gantry_", "not a token", token.text.slice(0, -1)]) {
      assert.equal(await findToken(one, garbage), undefined, garbage);
    }
  });

  it("tells an expired token and a revoked one apart, and never notes their use", async () => {
    await added("expiring");
    const short = await createToken(one, "expiring", 200);
    assert.ok(short?.record.expiresAt);
    assert.equal((await findToken(one, short.text))?.status, "valid");
    await sleep(400);
    const expired = await findToken(one, short.text);
    assert.equal(expired?.status, "expired");
    const used = expired?.token.lastUsedAt;
    await findToken(one, short.text);
    assert.equal((await getToken(one, short.record.id))?.lastUsedAt, used);

    const later = await createToken(one, "expiring");
    assert.equal(later?.record.expiresAt, null);
    const revoked = await revokeToken(two, later!.record.id, "boss");
    assert.equal(revoked?.already, false);
    assert.equal(revoked?.token.revokedBy, "boss");
    const lookup = await findToken(one, later!.text);
    assert.equal(lookup?.status, "revoked");
    assert.equal(lookup?.token.revokedBy, "boss");
    const twice = await revokeToken(one, later!.record.id, "someone-else");
    assert.equal(twice?.already, true);
    assert.equal(twice?.token.revokedBy, "boss", "the first revocation stays");
    assert.equal(await revokeToken(one, "000000000000", "boss"), undefined);
    assert.equal(await createToken(one, "nobody"), undefined);
  });

  it("revokes every token of an identity at once", async () => {
    const { token } = await added("leaver");
    const second = await createToken(one, "leaver");
    const ids = await revokeIdentity(one, "leaver", "boss");
    assert.deepEqual(ids, [token.record.id, second!.record.id].sort());
    assert.equal((await findToken(one, token.text))?.status, "revoked");
    assert.equal((await findToken(one, second!.text))?.status, "revoked");
    assert.deepEqual(await revokeIdentity(one, "leaver", "boss"), [], "nothing left to revoke");
    assert.equal(await revokeIdentity(one, "nobody", "boss"), undefined);
  });

  it("adds and removes roles", async () => {
    await added("roles", false, ["a"]);
    assert.deepEqual((await changeRoles(one, "roles", { add: ["c", "b", "a"] }))?.roles, ["a", "b", "c"]);
    assert.deepEqual((await changeRoles(one, "roles", { remove: ["b", "zz"] }))?.roles, ["a", "c"]);
    assert.deepEqual((await changeRoles(one, "roles", { remove: ["a", "c"] }))?.roles, []);
    assert.deepEqual((await getIdentity(two, "roles"))?.roles, []);
    assert.equal(await changeRoles(one, "nobody", { add: ["a"] }), undefined);
  });

  it("names the administrators who can still act, with their valid tokens", async () => {
    const boss = await added("boss-a", true);
    const spare = await createToken(one, "boss-a", 100);
    await sleep(250);
    const names = (await activeAdministrators(one)).map((a) => a.name);
    assert.ok(names.includes("boss-a"));
    assert.ok(!names.includes("ana"), "not an administrator");
    assert.deepEqual((await activeAdministrators(one)).find((a) => a.name === "boss-a")?.tokens, [
      boss.token.record.id,
    ]);
    assert.ok(spare, "the expired token is left out");
    await revokeIdentity(one, "boss-a", "boss-a");
    assert.ok(!(await activeAdministrators(one)).some((a) => a.name === "boss-a"));
  });
});
