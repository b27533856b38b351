/**
 * Identities through the binary: the first identity is an administrator added without a
 * token; after that adding needs an administrator's token (exit 12 without one, 13 with
 * someone else's); a token is printed once, only its hash is stored, and it is refused once
 * expired or revoked, with the reason; `--as` names someone only while there are no
 * identities; no token appears in any listing, error or the actions log.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type EmbeddedServer, openEmbedded } from "../src/store/embedded.js";
import { ACTIONS_LOG } from "../src/store/event-kinds.js";
import { type Outcome, type Workspace, workspace } from "./helpers/workspace.js";

const TOKEN = /gantry_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/g;

let w: Workspace;
let config: string;
/** Every output of a verb that does not make a token: none may show one. */
const quiet: Outcome[] = [];
/** Every token made, and its secret's hash. */
const made: string[] = [];

/** The workspace's embedded Postgres, kept running by this process so each gantry finds it started. */
let server: EmbeddedServer;

before(async () => {
  w = await workspace();
  config = path.join(w.dir, "config");
  fs.mkdirSync(config);
  server = await openEmbedded(w.dataDir);
});
after(async () => {
  await server?.release();
  await w?.cleanup();
});

/** gantry with no token but `token`, and a token file folder of the test's own. */
async function gantry(args: string[], token = "", extra: Record<string, string> = {}): Promise<Outcome> {
  const r = await w.gantry(args, {
    GANTRY_TOKEN: token,
    GANTRY_TOKEN_FILE: "",
    XDG_CONFIG_HOME: config,
    ...extra,
  });
  if (!/^(add|token)$/.test(args[1] ?? "") || r.code !== 0) quiet.push(r);
  return r;
}

function tokensIn(text: string): string[] {
  return [...text.matchAll(TOKEN)].map((m) => m[0]);
}

/** The one token a `users add` or `users token` printed. */
function printed(r: Outcome): string {
  assert.equal(r.code, 0, r.stderr);
  const found = tokensIn(`${r.stdout}${r.stderr}`);
  assert.equal(found.length, 1, `the token is printed once:\n${r.stdout}`);
  made.push(found[0]!);
  return found[0]!;
}

async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const idOf = (token: string) => token.split("_")[1]!;
const secretOf = (token: string) => token.split("_").slice(2).join("_");

describe("identities and tokens", () => {
  let admin: string;
  let bob: string;

  it("before any identity: the OS user (GANTRY_USER) or --as is taken at its word, not authenticated", async () => {
    const r = await gantry(["whoami", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.name, "tester");
    assert.equal(r.json?.authenticated, false);
    assert.match(String(r.json?.why), /no identities.*GANTRY_USER/);
    const as = await gantry(["whoami", "--as", "ana"]);
    assert.equal(as.code, 0, as.stderr);
    assert.match(as.stdout, /^ana {2}roles: none\nnot authenticated: .*from --as/);
    const list = await gantry(["users", "list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /no identities/);
  });

  it("the first identity is an administrator, added without a token; its token is printed once and only its hash kept", async () => {
    const r = await gantry(["users", "add", "root-admin"]);
    admin = printed(r);
    assert.match(r.stdout, /added root-admin \(administrator; no roles\), the first identity/);
    assert.match(r.stdout, /shown only now/);
    assert.match(r.stdout, /export GANTRY_TOKEN=<the token>/);
    const rows = await query<{ id: string; identity: string; hash: string; row: string }>(
      "SELECT id, identity, hash, row_to_json(t)::text AS row FROM gantry.tokens t",
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, idOf(admin));
    assert.equal(rows[0]!.hash, createHash("sha256").update(secretOf(admin)).digest("hex"));
    assert.ok(!rows[0]!.row.includes(secretOf(admin)), "the token's secret is in gantry.tokens");
    const who = await query<{ created_by: string; admin: boolean }>(
      "SELECT created_by, admin FROM gantry.identities WHERE name = 'root-admin'",
    );
    assert.deepEqual(who, [{ created_by: "tester", admin: true }]);
  });

  it("after that, adding needs an administrator's token: exit 12 without one, 13 with another's", async () => {
    const none = await gantry(["users", "add", "bob"]);
    assert.equal(none.code, 12, none.stderr);
    assert.match(none.stderr, /who is acting is not known: .*no GANTRY_TOKEN or token file/);
    assert.match(none.stderr, /gantry users token YOUR-NAME/);
    assert.match(none.stderr, /export GANTRY_TOKEN=<the token>/);

    bob = printed(await gantry(["users", "add", "bob", "--role", "approver", "--role", "dba"], admin));
    const carol = await gantry(["users", "add", "carol"], bob);
    assert.equal(carol.code, 13, carol.stderr);
    assert.match(carol.stderr, /bob is not an administrator; only an administrator may add identities/);
    const roles = await gantry(["users", "roles", "bob", "--add", "admins"], bob);
    assert.equal(roles.code, 13, roles.stderr);
    const taken = await gantry(["users", "add", "bob"], admin);
    assert.equal(taken.code, 10, taken.stderr);
    assert.match(taken.stderr, /already an identity named bob/);
  });

  it("whoami says who the token is, or why it cannot tell", async () => {
    const me = await gantry(["whoami", "--json"], bob);
    assert.equal(me.code, 0, me.stderr);
    assert.deepEqual(
      {
        name: me.json?.name,
        roles: me.json?.roles,
        admin: me.json?.admin,
        authenticated: me.json?.authenticated,
      },
      { name: "bob", roles: ["approver", "dba"], admin: false, authenticated: true },
    );
    assert.equal(me.json?.tokenId, idOf(bob));
    assert.match(String(me.json?.why), new RegExp(`token ${idOf(bob)} from GANTRY_TOKEN, never expires`));
    const text = await gantry(["whoami"], admin);
    assert.match(text.stdout, /^root-admin {2}administrator {2}roles: none\nauthenticated: token /);
    const none = await gantry(["whoami"]);
    assert.equal(none.code, 12, none.stderr);
    const garbage = await gantry(["whoami"], "not-a-token");
    assert.equal(garbage.code, 12, garbage.stderr);
    assert.match(garbage.stderr, /GANTRY_TOKEN does not hold a Gantry token/);
    assert.doesNotMatch(garbage.stderr, /not-a-token/);
    const forged = await gantry(["whoami"], `gantry_${idOf(bob)}_${"A".repeat(43)}`);
    assert.equal(forged.code, 12, forged.stderr);
    assert.match(forged.stderr, /is not known on this database/);
    assert.doesNotMatch(forged.stderr, /bob/, "a wrong secret does not say whose token it is");
  });

  it("--as is refused once identities exist", async () => {
    for (const token of [bob, ""]) {
      const r = await gantry(["whoami", "--as", "bob"], token);
      assert.equal(r.code, 13, r.stderr);
      assert.match(
        r.stderr,
        /--as cannot name someone on a database with identities; act with your own token/,
      );
    }
  });

  it("reads the token file, and refuses one other users can read", async () => {
    const file = path.join(config, "gantry", "token");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${bob}\n`, { mode: 0o600 });
    const r = await gantry(["whoami", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.name, "bob");
    assert.equal(r.json?.source, file);
    fs.chmodSync(file, 0o644);
    const open = await gantry(["whoami"]);
    assert.equal(open.code, 12, open.stderr);
    assert.match(open.stderr, /can be read by other users \(mode 644\).*\nMake it private with: chmod 600/);
    const elsewhere = path.join(w.dir, "bob.token");
    fs.writeFileSync(elsewhere, bob, { mode: 0o600 });
    const named = await gantry(["whoami", "--json"], "", { GANTRY_TOKEN_FILE: elsewhere });
    assert.equal(named.json?.name, "bob", named.stderr);
    fs.rmSync(file);
  });

  it("refuses an expired token, saying when it expired", async () => {
    const short = printed(await gantry(["users", "token", "bob", "--expires", "1s"], admin));
    // Starting a gantry takes about as long as the token lives: it may have expired already.
    await sleep(1100);
    const r = await gantry(["whoami"], short);
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, new RegExp(`the token ${idOf(short)} of bob .*expired at \\d{4}-\\d\\d-\\d\\dT`));
    assert.match(r.stderr, /gantry users token bob/);
    const bad = await gantry(["users", "token", "bob", "--expires", "1 day"], admin);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /did you mean `1d`/);
  });

  it("a person makes a token for themselves, not for others; a revoked token is refused, saying when and by whom", async () => {
    const own = printed(await gantry(["users", "token", "bob"], bob));
    const other = await gantry(["users", "token", "root-admin"], bob);
    assert.equal(other.code, 13, other.stderr);
    const r = await gantry(["users", "revoke", "--token", idOf(own)], admin);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`revoked token ${idOf(own)} of bob`));
    const refused = await gantry(["whoami"], own);
    assert.equal(refused.code, 12, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`the token ${idOf(own)} of bob .*was revoked at \\S+ by root-admin`),
    );
    assert.equal((await gantry(["whoami"], bob)).code, 0, "bob's other token still works");
    const again = await gantry(["users", "revoke", "--token", idOf(own)], admin);
    assert.equal(again.code, 10, again.stderr);
  });

  it("changes roles, revokes every token of a person, and keeps one administrator who can act", async () => {
    const roles = await gantry(["users", "roles", "bob", "--add", "sre", "--remove", "dba"], admin);
    assert.equal(roles.code, 0, roles.stderr);
    assert.match(roles.stdout, /bob: roles approver, sre \(\+sre -dba\)/);
    const last = await gantry(["users", "revoke", "root-admin"], admin);
    assert.equal(last.code, 10, last.stderr);
    assert.match(last.stderr, /would leave no administrator who can act/);
    const r = await gantry(["users", "revoke", "bob"], admin);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked every token of bob/);
    const refused = await gantry(["whoami"], bob);
    assert.equal(refused.code, 12, refused.stderr);
    assert.match(refused.stderr, /was revoked at .* by root-admin/);
    const nobody = await gantry(["users", "revoke", "nobody"], admin);
    assert.equal(nobody.code, 2, nobody.stderr);
  });

  it("lists identities and tokens without any token or hash", async () => {
    const text = await gantry(["users", "list"], admin);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^root-admin {2}administrator {2}roles: none {2}\(added .* by tester\)$/m);
    assert.match(
      text.stdout,
      new RegExp(`^ {2}token ${idOf(bob)} .* revoked .* by root-admin {2}last used `, "m"),
    );
    const json = await gantry(["users", "list", "--json"], admin);
    const users = json.json as unknown as Array<{
      name: string;
      tokens: Array<{ id: string; state: string }>;
    }>;
    assert.deepEqual(
      users.map((u) => u.name),
      ["bob", "root-admin"],
    );
    assert.ok(users[0]!.tokens.every((t) => t.state !== "active"));
    assert.ok(!json.stdout.includes("hash"));
    const hashes = await query<{ hash: string }>("SELECT hash FROM gantry.tokens");
    for (const r of [text, json]) for (const { hash } of hashes) assert.ok(!r.stdout.includes(hash));
  });

  it("records every change in the actions log, with who made it and never a token", async () => {
    const events = await query<{ kind: string; key: string; data: Record<string, unknown> }>(
      "SELECT kind, key, data FROM gantry.events WHERE run_id = $1 ORDER BY seq",
      [ACTIONS_LOG],
    );
    const kinds = events.map((e) => e.kind);
    for (const kind of [
      "identity.added",
      "token.created",
      "token.revoked",
      "identity.roles",
      "identity.revoked",
    ]) {
      assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(", ")}`);
    }
    const first = events.find((e) => e.kind === "identity.added" && e.data.name === "root-admin");
    assert.deepEqual(first?.data, {
      by: "tester",
      authenticated: false,
      name: "root-admin",
      roles: [],
      admin: true,
    });
    const bobAdded = events.find((e) => e.kind === "identity.added" && e.data.name === "bob");
    assert.deepEqual(bobAdded?.data, {
      by: "root-admin",
      authenticated: true,
      name: "bob",
      roles: ["approver", "dba"],
      admin: false,
    });
    assert.equal(events.filter((e) => e.kind === "token.created").length, made.length);
    const text = JSON.stringify(events);
    const hashes = await query<{ hash: string }>("SELECT hash FROM gantry.tokens");
    for (const token of made) assert.ok(!text.includes(secretOf(token)), "a token in the actions log");
    for (const { hash } of hashes) assert.ok(!text.includes(hash), "a hash in the actions log");
  });

  it("no token appears in any output but the one that made it", () => {
    assert.ok(made.length >= 4 && quiet.length > 20);
    for (const r of quiet) {
      const all = `${r.stdout}${r.stderr}`;
      for (const token of made) assert.ok(!all.includes(secretOf(token)), `a token in:\n${all}`);
      assert.deepEqual(tokensIn(all), []);
    }
  });
});
