/**
 * The people who act on Gantry and their tokens (gantry.identities, gantry.tokens). A token
 * reads `gantry_<id>_<secret>`: the id is public (it names the token in lists and in the
 * actions log), the secret is 32 random bytes in base64url and only its SHA-256 is stored,
 * so a copy of the database lets nobody act as anyone. Rules (who may add, revoke, issue)
 * are the application's (src/app/users.ts); this module stores and looks up.
 *
 * Times are the database's (`now()`), so every process on a database agrees on expiry.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import { withRetry } from "./database.js";

export interface IdentityRecord {
  name: string;
  roles: string[];
  admin: boolean;
  createdAt: string;
  createdBy: string;
}

/** A token as stored: never its secret nor its hash. */
export interface TokenRecord {
  id: string;
  identity: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

/** A token just made: `text` is the whole token, to be shown once and never stored. */
export interface IssuedToken {
  text: string;
  record: TokenRecord;
}

/** What a presented token is: `valid` only when it is neither expired nor revoked. */
export interface TokenLookup {
  status: "valid" | "expired" | "revoked";
  token: TokenRecord;
  identity: IdentityRecord;
}

export const TOKEN_PREFIX = "gantry_";
const TOKEN_FORM = /^gantry_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** The id and secret of a token's text, or undefined when it is not a Gantry token. */
export function parseToken(text: string): { id: string; secret: string } | undefined {
  const m = TOKEN_FORM.exec(text.trim());
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

function hashOf(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

const IDENTITY_COLUMNS = "name, roles, admin, created_at, created_by";
const TOKEN_COLUMNS = "id, identity, created_at, expires_at, revoked_at, revoked_by, last_used_at";

interface IdentityRow {
  name: string;
  roles: string[];
  admin: boolean;
  created_at: Date;
  created_by: string;
}

interface TokenRow {
  id: string;
  identity: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}

/** The identity's columns beside a token's, in one row. */
interface IdentityJoin {
  i_name: string;
  i_roles: string[];
  i_admin: boolean;
  i_created_at: Date;
  i_created_by: string;
}

function toIdentity(row: IdentityRow): IdentityRecord {
  return {
    name: row.name,
    roles: row.roles,
    admin: row.admin,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

function toToken(row: TokenRow): TokenRecord {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.id,
    identity: row.identity,
    createdAt: row.created_at.toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    revokedBy: row.revoked_by,
    lastUsedAt: iso(row.last_used_at),
  };
}

/** How many identities the database holds: none means nobody is authenticated yet. */
export async function countIdentities(pool: pg.Pool): Promise<number> {
  const result = await withRetry(() =>
    pool.query<{ n: string }>("SELECT count(*) AS n FROM gantry.identities"),
  );
  return Number(result.rows[0]?.n ?? 0);
}

export interface NewIdentity {
  name: string;
  roles: string[];
  admin: boolean;
  /** Who adds it (recorded as created_by). */
  by: string;
  /** Its first token expires this long after now; never when undefined. */
  expiresInMs?: number | undefined;
  /** Add it only if the database has no identity yet (the first administrator). */
  onlyIfFirst?: boolean;
}

/**
 * Adds an identity with its first token, in one transaction. "exists": the name is taken;
 * "not-first": `onlyIfFirst` and someone added an identity meanwhile.
 */
export async function addIdentity(
  pool: pg.Pool,
  input: NewIdentity,
): Promise<{ identity: IdentityRecord; token: IssuedToken } | "exists" | "not-first"> {
  return transaction(pool, async (client) => {
    // One adder at a time: two first administrators added at once would both see none.
    await client.query("SELECT pg_advisory_xact_lock(7411, 1)");
    if (input.onlyIfFirst) {
      const any = await client.query("SELECT 1 FROM gantry.identities LIMIT 1");
      if (any.rowCount) return "not-first";
    }
    const added = await client.query<IdentityRow>(
      `INSERT INTO gantry.identities (name, roles, admin, created_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING RETURNING ${IDENTITY_COLUMNS}`,
      [input.name, sortedRoles(input.roles), input.admin, input.by],
    );
    const row = added.rows[0];
    if (!row) return "exists";
    return { identity: toIdentity(row), token: await insertToken(client, input.name, input.expiresInMs) };
  });
}

export async function getIdentity(pool: pg.Pool, name: string): Promise<IdentityRecord | undefined> {
  const result = await withRetry(() =>
    pool.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM gantry.identities WHERE name = $1`, [name]),
  );
  return result.rows[0] ? toIdentity(result.rows[0]) : undefined;
}

/** Every identity by name, each with its tokens (oldest first). */
export async function listIdentities(
  pool: pg.Pool,
): Promise<Array<IdentityRecord & { tokens: TokenRecord[] }>> {
  const identities = await withRetry(() =>
    pool.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM gantry.identities ORDER BY name`),
  );
  const tokens = await withRetry(() =>
    pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM gantry.tokens ORDER BY created_at, id`),
  );
  return identities.rows.map((row) => ({
    ...toIdentity(row),
    tokens: tokens.rows.filter((t) => t.identity === row.name).map(toToken),
  }));
}

export async function getToken(pool: pg.Pool, id: string): Promise<TokenRecord | undefined> {
  const result = await withRetry(() =>
    pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM gantry.tokens WHERE id = $1`, [id]),
  );
  return result.rows[0] ? toToken(result.rows[0]) : undefined;
}

/** A new token for `name`; undefined when there is no such identity. */
export async function createToken(
  pool: pg.Pool,
  name: string,
  expiresInMs?: number,
): Promise<IssuedToken | undefined> {
  return transaction(pool, async (client) => {
    const found = await client.query("SELECT 1 FROM gantry.identities WHERE name = $1 FOR SHARE", [name]);
    if (!found.rowCount) return undefined;
    return insertToken(client, name, expiresInMs);
  });
}

async function insertToken(
  client: pg.PoolClient,
  name: string,
  expiresInMs: number | undefined,
): Promise<IssuedToken> {
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const result = await client.query<TokenRow>(
    `INSERT INTO gantry.tokens (id, identity, hash, expires_at)
     VALUES ($1, $2, $3, CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() + $4::bigint * interval '1 millisecond' END)
     RETURNING ${TOKEN_COLUMNS}`,
    [id, name, hashOf(secret).toString("hex"), expiresInMs ?? null],
  );
  return { text: `${TOKEN_PREFIX}${id}_${secret}`, record: toToken(result.rows[0]!) };
}

/**
 * The token `text` stands for, with its identity, compared in constant time; undefined when
 * it is not a Gantry token or not one of this database (an unknown id, a wrong secret).
 * A valid token's last_used_at is set to now.
 */
export async function findToken(pool: pg.Pool, text: string): Promise<TokenLookup | undefined> {
  const parsed = parseToken(text);
  if (!parsed) return undefined;
  const result = await withRetry(() =>
    pool.query<TokenRow & IdentityJoin & { hash: string; expired: boolean }>(
      `SELECT t.id, t.identity, t.hash, t.created_at, t.expires_at, t.revoked_at, t.revoked_by, t.last_used_at,
              t.expires_at IS NOT NULL AND t.expires_at <= now() AS expired,
              i.name AS i_name, i.roles AS i_roles, i.admin AS i_admin, i.created_at AS i_created_at, i.created_by AS i_created_by
         FROM gantry.tokens t JOIN gantry.identities i ON i.name = t.identity
        WHERE t.id = $1`,
      [parsed.id],
    ),
  );
  const row = result.rows[0];
  if (!row) return undefined;
  const stored = Buffer.from(row.hash, "hex");
  const given = hashOf(parsed.secret);
  if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
  const identity = toIdentity({
    name: row.i_name,
    roles: row.i_roles,
    admin: row.i_admin,
    created_at: row.i_created_at,
    created_by: row.i_created_by,
  });
  const status = row.revoked_at ? "revoked" : row.expired ? "expired" : "valid";
  if (status !== "valid") return { status, token: toToken(row), identity };
  const used = await withRetry(() =>
    pool.query<TokenRow>(
      `UPDATE gantry.tokens SET last_used_at = now() WHERE id = $1 RETURNING ${TOKEN_COLUMNS}`,
      [parsed.id],
    ),
  );
  return { status, token: toToken(used.rows[0] ?? row), identity };
}

/**
 * Revokes one token, as `by`. Returns the token as it now is (a token revoked before keeps
 * its first revocation), or undefined when there is none with that id.
 */
export async function revokeToken(
  pool: pg.Pool,
  id: string,
  by: string,
): Promise<{ token: TokenRecord; already: boolean } | undefined> {
  const updated = await withRetry(() =>
    pool.query<TokenRow>(
      `UPDATE gantry.tokens SET revoked_at = now(), revoked_by = $2
        WHERE id = $1 AND revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
      [id, by],
    ),
  );
  if (updated.rows[0]) return { token: toToken(updated.rows[0]), already: false };
  const token = await getToken(pool, id);
  return token ? { token, already: true } : undefined;
}

/** Revokes every token of `name` not revoked yet, as `by`; the ids revoked now, or undefined for no such identity. */
export async function revokeIdentity(pool: pg.Pool, name: string, by: string): Promise<string[] | undefined> {
  return transaction(pool, async (client) => {
    const found = await client.query("SELECT 1 FROM gantry.identities WHERE name = $1 FOR UPDATE", [name]);
    if (!found.rowCount) return undefined;
    const result = await client.query<{ id: string }>(
      `UPDATE gantry.tokens SET revoked_at = now(), revoked_by = $2
        WHERE identity = $1 AND revoked_at IS NULL RETURNING id`,
      [name, by],
    );
    return result.rows.map((r) => r.id).sort();
  });
}

/** Adds and removes roles of `name` (a role in both is removed); the identity after, or undefined. */
export async function changeRoles(
  pool: pg.Pool,
  name: string,
  change: { add?: string[]; remove?: string[] },
): Promise<IdentityRecord | undefined> {
  const result = await withRetry(() =>
    pool.query<IdentityRow>(
      `UPDATE gantry.identities SET roles = COALESCE(
         (SELECT array_agg(DISTINCT r ORDER BY r) FROM unnest(roles || $2::text[]) AS r WHERE NOT (r = ANY ($3::text[]))),
         '{}')
        WHERE name = $1 RETURNING ${IDENTITY_COLUMNS}`,
      [name, change.add ?? [], change.remove ?? []],
    ),
  );
  return result.rows[0] ? toIdentity(result.rows[0]) : undefined;
}

/** Administrators holding a token that is neither revoked nor expired, with those tokens' ids. */
export async function activeAdministrators(
  pool: pg.Pool,
): Promise<Array<{ name: string; tokens: string[] }>> {
  const result = await withRetry(() =>
    pool.query<{ name: string; tokens: string[] }>(
      `SELECT i.name, array_agg(t.id ORDER BY t.id) AS tokens
         FROM gantry.identities i JOIN gantry.tokens t ON t.identity = i.name
        WHERE i.admin AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
        GROUP BY i.name ORDER BY i.name`,
    ),
  );
  return result.rows;
}

function sortedRoles(roles: string[]): string[] {
  return [...new Set(roles)].sort();
}

/** Runs `body` in one transaction, retried as a whole while Postgres is unreachable. */
function transaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withRetry(async () => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      client.release(broken);
    }
  });
}
