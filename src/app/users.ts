/**
 * Managing identities: people, their tokens and their roles. The rules:
 * - the first identity added on a database is its administrator, and adding it needs no token;
 * - after that, adding, revoking and changing identities needs an administrator's token;
 * - a person may also make a new token for themselves and revoke one of their own;
 * - the last administrator's last valid token cannot be revoked (nobody could manage
 *   identities any more);
 * - listing needs a valid token once identities exist.
 * Every change is appended to the actions log (ACTIONS_LOG) with who made it; a token's id
 * is recorded, never the token or its hash. The CLI (src/cli/users.ts) only translates.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { UsageError } from "../errors.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import type { EventStore, NewEvent } from "../store/events.js";
import type { IdentityRecord, TokenRecord } from "../store/identities.js";
import * as identities from "../store/identities.js";
import { claimedName, type Identity, identify, presentedToken } from "./identity.js";
import { Refusal } from "./refusal.js";

/** What the operations on identities work with: the database, its event log, the environment (tokens). */
export interface UsersContext {
  pool: pg.Pool;
  store: EventStore;
  env?: NodeJS.ProcessEnv;
}

/** A token just issued: `token` is shown once and is stored nowhere. */
export interface Issued {
  name: string;
  token: string;
  tokenId: string;
  expiresAt: string | null;
  /** Who issued it. */
  by: string;
}

export interface Added extends Issued {
  roles: string[];
  admin: boolean;
  /** The first identity of the database: its administrator, added without a token. */
  first: boolean;
}

export interface TokenView extends TokenRecord {
  state: "active" | "expired" | "revoked";
}

export interface UserView extends IdentityRecord {
  tokens: TokenView[];
}

export interface WhoAmI extends Identity {
  /** Why Gantry believes this: the token and where it came from, or why nobody is authenticated. */
  why: string;
  /** GANTRY_TOKEN or the token file's path (authenticated only). */
  source?: string;
  expiresAt?: string | null;
}

const NAME_FORM = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const ROLE_FORM = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * Adds an identity and issues its first token. Example: `addUser(ctx, { name: "ana", roles:
 * ["approver"] })` → `{ name: "ana", token: "gantry_…", first: false, … }`.
 */
export async function addUser(
  ctx: UsersContext,
  input: { name: string; roles?: string[]; admin?: boolean; expiresInMs?: number },
): Promise<Added> {
  checkName(input.name);
  const roles = checkRoles(input.roles ?? []);
  checkExpiry(input.expiresInMs);
  const me = await administrator(ctx, "add identities");
  const first = !me.authenticated;
  const result = await identities.addIdentity(ctx.pool, {
    name: input.name,
    roles,
    admin: first || (input.admin ?? false),
    by: me.name,
    expiresInMs: input.expiresInMs,
    onlyIfFirst: first,
  });
  if (result === "not-first") {
    throw new Refusal(
      "unauthenticated",
      "someone added the first identity of this database a moment ago; adding more now needs an administrator's token",
      ["Ask the administrator (gantry users list shows who it is) for a token: gantry users token YOUR-NAME"],
    );
  }
  if (result === "exists") {
    throw new Refusal("not-accepted", `there is already an identity named ${input.name}`, [
      `A new token for it: gantry users token ${input.name}    its roles: gantry users roles ${input.name} --add ROLE`,
    ]);
  }
  const { identity, token } = result;
  await record(ctx, {
    key: `identity.added:${identity.name}:${randomUUID()}`,
    kind: "identity.added",
    data: { ...actor(me), name: identity.name, roles: identity.roles, admin: identity.admin },
  });
  await recordToken(ctx, me, identity.name, token.record);
  return { ...issued(me, token), roles: identity.roles, admin: identity.admin, first };
}

/** A new token for `name`: by an administrator, or by `name` itself with its current token. */
export async function issueToken(
  ctx: UsersContext,
  name: string,
  options: { expiresInMs?: number } = {},
): Promise<Issued> {
  checkExpiry(options.expiresInMs);
  const me = await identify(ctx.pool, { env: env(ctx) });
  if (me.authenticated && !me.admin && me.name !== name) {
    throw new Refusal(
      "forbidden",
      `${me.name} may make tokens only for themselves; a token for ${name} needs an administrator`,
      ["Ask an administrator (gantry users list shows who is one)."],
    );
  }
  await existing(ctx, name);
  const token = await identities.createToken(ctx.pool, name, options.expiresInMs);
  if (!token) throw noIdentity(name, true);
  await recordToken(ctx, me, name, token.record);
  return issued(me, token);
}

/** Every identity with its tokens' ids, dates and states (never a token nor a hash). */
export async function listUsers(ctx: UsersContext): Promise<UserView[]> {
  await identify(ctx.pool, { env: env(ctx) });
  const now = Date.now();
  return (await identities.listIdentities(ctx.pool)).map((identity) => ({
    ...identity,
    tokens: identity.tokens.map((t) => ({ ...t, state: stateOf(t, now) })),
  }));
}

/** Revokes every token of `name`. An administrator's act. */
export async function revokeUser(
  ctx: UsersContext,
  name: string,
): Promise<{ name: string; tokens: string[]; by: string }> {
  const me = await administrator(ctx, "revoke identities");
  const identity = await existing(ctx, name);
  if (identity.admin) {
    await keepAnAdministrator(ctx, (a) => a.name !== name, `every token of ${name}`, [
      "Add another administrator first: gantry users add NAME --admin",
    ]);
  }
  const tokens = await identities.revokeIdentity(ctx.pool, name, me.name);
  if (!tokens) throw noIdentity(name, true);
  await record(ctx, {
    key: `identity.revoked:${name}:${randomUUID()}`,
    kind: "identity.revoked",
    data: { ...actor(me), name, tokens },
  });
  return { name, tokens, by: me.name };
}

/** Revokes one token: by an administrator, or by the token's own identity. */
export async function revokeTokenById(
  ctx: UsersContext,
  tokenId: string,
): Promise<{ name: string; tokenId: string; by: string }> {
  const me = await identify(ctx.pool, { env: env(ctx) });
  const token = await identities.getToken(ctx.pool, tokenId);
  if (!token) {
    throw new Refusal("not-found", `no token ${tokenId} on this database (gantry users list shows them)`);
  }
  if (me.authenticated && !me.admin && me.name !== token.identity) {
    throw new Refusal(
      "forbidden",
      `${me.name} may revoke only their own tokens; token ${tokenId} is ${token.identity}'s`,
      ["Ask an administrator (gantry users list shows who is one)."],
    );
  }
  if (token.revokedAt) throw alreadyRevoked(token);
  const owner = await existing(ctx, token.identity);
  if (owner.admin) {
    await keepAnAdministrator(
      ctx,
      (a) => a.name !== owner.name || a.tokens.some((t) => t !== tokenId),
      `token ${tokenId}`,
      [
        `Make a new token first (gantry users token ${owner.name}), or add another administrator (gantry users add NAME --admin)`,
      ],
    );
  }
  const revoked = await identities.revokeToken(ctx.pool, tokenId, me.name);
  if (!revoked) throw new Refusal("not-found", `no token ${tokenId} on this database`);
  if (revoked.already) throw alreadyRevoked(revoked.token);
  await record(ctx, {
    key: `token.revoked:${tokenId}`,
    kind: "token.revoked",
    data: { ...actor(me), name: token.identity, tokenId },
  });
  return { name: token.identity, tokenId, by: me.name };
}

/** Adds and removes roles of `name`. An administrator's act. */
export async function changeUserRoles(
  ctx: UsersContext,
  name: string,
  change: { add?: string[]; remove?: string[] },
): Promise<{ name: string; roles: string[]; added: string[]; removed: string[]; by: string }> {
  const add = checkRoles(change.add ?? []);
  const remove = checkRoles(change.remove ?? []);
  if (add.length === 0 && remove.length === 0) {
    throw new UsageError(`nothing to change: give --add ROLE or --remove ROLE (gantry users roles ${name})`);
  }
  const both = add.filter((r) => remove.includes(r));
  if (both.length > 0) throw new UsageError(`role ${both.join(", ")} is both added and removed`);
  const me = await administrator(ctx, "change roles");
  const before = await existing(ctx, name);
  const after = await identities.changeRoles(ctx.pool, name, { add, remove });
  if (!after) throw noIdentity(name, true);
  const added = after.roles.filter((r) => !before.roles.includes(r));
  const removed = before.roles.filter((r) => !after.roles.includes(r));
  await record(ctx, {
    key: `identity.roles:${name}:${randomUUID()}`,
    kind: "identity.roles",
    data: { ...actor(me), name, added, removed, roles: after.roles },
  });
  return { name, roles: after.roles, added, removed, by: me.name };
}

/** Who the caller is, and why Gantry believes it. */
export async function whoami(ctx: UsersContext, options: { as?: string } = {}): Promise<WhoAmI> {
  const me = await identify(ctx.pool, { env: env(ctx), as: options.as });
  if (!me.authenticated) {
    const { from } = claimedName(options.as, env(ctx));
    const ignored = tokenGiven(env(ctx)) ? "; the token you present is not used" : "";
    return {
      ...me,
      why: `this database has no identities, so Gantry takes the name from ${from} at its word${ignored}. \`gantry users add NAME\` creates the first identity, its administrator.`,
    };
  }
  const source = presentedToken(env(ctx))?.from ?? "GANTRY_TOKEN";
  const token = me.tokenId ? await identities.getToken(ctx.pool, me.tokenId) : undefined;
  const expiresAt = token?.expiresAt ?? null;
  return {
    ...me,
    source,
    expiresAt,
    why: `token ${me.tokenId} from ${source}, ${expiresAt ? `expires ${expiresAt}` : "never expires"}`,
  };
}

// ——— rules ———

/** The caller, when they may manage identities: an administrator, or anyone while the database has none. */
async function administrator(ctx: UsersContext, what: string): Promise<Identity> {
  const me = await identify(ctx.pool, { env: env(ctx) });
  if (me.authenticated && !me.admin) {
    throw new Refusal("forbidden", `${me.name} is not an administrator; only an administrator may ${what}`, [
      "Ask an administrator of this database (gantry users list shows who is one).",
    ]);
  }
  return me;
}

/** Refuses a revocation after which no administrator could act (`remains`: an administrator's tokens left). */
async function keepAnAdministrator(
  ctx: UsersContext,
  remains: (admin: { name: string; tokens: string[] }) => boolean,
  what: string,
  hints: string[],
): Promise<void> {
  const active = await identities.activeAdministrators(ctx.pool);
  if (active.some(remains)) return;
  throw new Refusal(
    "not-accepted",
    `revoking ${what} would leave no administrator who can act: nobody could add, revoke or change identities any more`,
    hints,
  );
}

async function existing(ctx: UsersContext, name: string): Promise<IdentityRecord> {
  const identity = await identities.getIdentity(ctx.pool, name);
  if (identity) return identity;
  throw noIdentity(name, (await identities.countIdentities(ctx.pool)) > 0);
}

function noIdentity(name: string, any: boolean): Refusal {
  return any
    ? new Refusal("not-found", `no identity ${name} on this database (gantry users list shows them)`)
    : new Refusal("not-found", `no identity ${name}: this database has no identities yet`, [
        `gantry users add ${name} creates the first one, the database's administrator.`,
      ]);
}

function alreadyRevoked(token: TokenRecord): Refusal {
  return new Refusal(
    "not-accepted",
    `token ${token.id} of ${token.identity} was already revoked at ${token.revokedAt} by ${token.revokedBy}`,
  );
}

function checkName(name: string): void {
  if (!NAME_FORM.test(name)) {
    throw new UsageError(
      `bad name ${JSON.stringify(name)}: up to 64 letters, digits and . _ @ + -, starting with a letter or digit (e.g. ana, ana.lima@example.com)`,
    );
  }
}

function checkRoles(roles: string[]): string[] {
  for (const role of roles) {
    if (!ROLE_FORM.test(role)) {
      throw new UsageError(
        `bad role ${JSON.stringify(role)}: up to 64 letters, digits and . _ : -, starting with a letter or digit (e.g. dba, release-managers)`,
      );
    }
  }
  return [...new Set(roles)].sort();
}

function checkExpiry(ms: number | undefined): void {
  if (ms !== undefined && !(ms > 0)) throw new UsageError("--expires must be longer than 0s, e.g. 90d");
}

function stateOf(token: TokenRecord, now: number): TokenView["state"] {
  if (token.revokedAt) return "revoked";
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return "expired";
  return "active";
}

function tokenGiven(environment: NodeJS.ProcessEnv): boolean {
  try {
    return presentedToken(environment) !== undefined;
  } catch {
    return true;
  }
}

// ——— the actions log ———

function actor(me: Identity): { by: string; authenticated: boolean } {
  return { by: me.name, authenticated: me.authenticated };
}

function issued(me: Identity, token: identities.IssuedToken): Issued {
  return {
    name: token.record.identity,
    token: token.text,
    tokenId: token.record.id,
    expiresAt: token.record.expiresAt,
    by: me.name,
  };
}

async function recordToken(ctx: UsersContext, me: Identity, name: string, token: TokenRecord): Promise<void> {
  await record(ctx, {
    key: `token.created:${token.id}`,
    kind: "token.created",
    data: { ...actor(me), name, tokenId: token.id, expiresAt: token.expiresAt },
  });
}

async function record(ctx: UsersContext, event: NewEvent): Promise<void> {
  await ctx.store.append(ACTIONS_LOG, event);
}

function env(ctx: UsersContext): NodeJS.ProcessEnv {
  return ctx.env ?? process.env;
}
