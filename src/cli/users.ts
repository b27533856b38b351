/**
 * `gantry users …` and `gantry whoami`: parse the arguments, call the application layer
 * (src/app/users.ts), print. A token is printed only by the verb that makes it, once.
 */
import {
  type Added,
  addUser,
  changeUserRoles,
  type Issued,
  issueToken,
  listUsers,
  revokeTokenById,
  revokeUser,
  type UsersContext,
  type UserView,
  whoami as whoAmI,
} from "../app/users.js";
import { UsageError } from "../errors.js";
import { durationHint, parseDuration } from "../runbook/duration.js";
import type { DatabaseOptions } from "../store/database.js";
import { withControl } from "./executor.js";
import { json, out } from "./output.js";

type Options = DatabaseOptions & { json?: boolean };

function withUsers<T>(options: DatabaseOptions, body: (ctx: UsersContext) => Promise<T>): Promise<T> {
  return withControl(options, (control) => body({ pool: control.db.pool, store: control.store }));
}

export async function add(
  name: string,
  options: Options & { role?: string[]; admin?: boolean; expires?: string },
): Promise<void> {
  const expiresInMs = expiry(options.expires);
  const added = await withUsers(options, (ctx) =>
    addUser(ctx, {
      name,
      roles: options.role ?? [],
      ...(options.admin ? { admin: true } : {}),
      ...(expiresInMs !== undefined ? { expiresInMs } : {}),
    }),
  );
  if (options.json) return json(added);
  const what = [
    added.admin ? "administrator" : undefined,
    added.roles.length > 0 ? `roles ${added.roles.join(", ")}` : "no roles",
  ].filter(Boolean);
  out(
    `added ${added.name} (${what.join("; ")})${added.first ? ", the first identity of this database" : ""}`,
  );
  printToken(added);
  if (added.first) {
    out(
      `From now on everyone acts with a token on this database; adding, revoking and changing identities needs an administrator's (${added.name}'s, until there are others).`,
    );
  }
}

export async function token(name: string, options: Options & { expires?: string }): Promise<void> {
  const expiresInMs = expiry(options.expires);
  const issued = await withUsers(options, (ctx) =>
    issueToken(ctx, name, expiresInMs !== undefined ? { expiresInMs } : {}),
  );
  if (options.json) return json(issued);
  printToken(issued);
}

/** The token, once, and how its owner uses it. */
function printToken(issued: Issued | Added): void {
  out(
    `token ${issued.tokenId} for ${issued.name}, ${issued.expiresAt ? `expires ${when(issued.expiresAt)}` : "never expires"}; shown only now (Gantry keeps only its hash):`,
  );
  out(`  ${issued.token}`);
  out(`${issued.name} uses it with:  export GANTRY_TOKEN=<the token>`);
  out("  or writes it to ~/.config/gantry/token (or $GANTRY_TOKEN_FILE), readable only by them: chmod 600");
}

export async function list(options: Options): Promise<void> {
  const users = await withUsers(options, (ctx) => listUsers(ctx));
  if (options.json) return json(users);
  if (users.length === 0) {
    out(
      "no identities: anyone acts under the name they give. `gantry users add NAME` adds the first, its administrator.",
    );
    return;
  }
  out(users.map(describe).join("\n"));
}

function describe(user: UserView): string {
  const lines = [
    `${user.name}${user.admin ? "  administrator" : ""}  roles: ${user.roles.join(", ") || "none"}  (added ${when(user.createdAt)} by ${user.createdBy})`,
  ];
  if (user.tokens.length === 0) lines.push("  no tokens");
  for (const t of user.tokens) {
    const state =
      t.state === "revoked"
        ? `revoked ${when(t.revokedAt!)} by ${t.revokedBy}`
        : t.state === "expired"
          ? `expired ${when(t.expiresAt!)}`
          : `active, ${t.expiresAt ? `expires ${when(t.expiresAt)}` : "never expires"}`;
    lines.push(
      `  token ${t.id}  created ${when(t.createdAt)}  ${state}  last used ${t.lastUsedAt ? when(t.lastUsedAt) : "never"}`,
    );
  }
  return lines.join("\n");
}

export async function revoke(name: string | undefined, options: Options & { token?: string }): Promise<void> {
  if ((name === undefined) === (options.token === undefined)) {
    throw new UsageError(
      "name who to revoke: gantry users revoke NAME, or one token: gantry users revoke --token ID",
    );
  }
  if (options.token !== undefined) {
    const tokenId = options.token;
    const r = await withUsers(options, (ctx) => revokeTokenById(ctx, tokenId));
    if (options.json) return json(r);
    out(`revoked token ${r.tokenId} of ${r.name}`);
    return;
  }
  const r = await withUsers(options, (ctx) => revokeUser(ctx, name!));
  if (options.json) return json(r);
  out(
    r.tokens.length > 0
      ? `revoked every token of ${r.name}: ${r.tokens.join(", ")}`
      : `${r.name} had no token left to revoke`,
  );
  out(`${r.name} can act again only with a new token: gantry users token ${r.name}`);
}

export async function roles(
  name: string,
  options: Options & { add?: string[]; remove?: string[] },
): Promise<void> {
  const r = await withUsers(options, (ctx) =>
    changeUserRoles(ctx, name, { add: options.add ?? [], remove: options.remove ?? [] }),
  );
  if (options.json) return json(r);
  const changes = [...r.added.map((role) => `+${role}`), ...r.removed.map((role) => `-${role}`)];
  out(
    `${r.name}: roles ${r.roles.join(", ") || "none"}${changes.length > 0 ? ` (${changes.join(" ")})` : " (unchanged)"}`,
  );
}

export async function whoami(options: Options & { as?: string }): Promise<void> {
  const me = await withUsers(options, (ctx) =>
    whoAmI(ctx, options.as !== undefined ? { as: options.as } : {}),
  );
  if (options.json) return json(me);
  out(`${me.name}${me.admin ? "  administrator" : ""}  roles: ${me.roles.join(", ") || "none"}`);
  out(`${me.authenticated ? "authenticated" : "not authenticated"}: ${me.why}`);
}

function expiry(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--expires: ${durationHint(text)}`);
  return ms;
}

/** An ISO time as people read it: `2026-12-01 17:32:48 UTC`. */
function when(iso: string): string {
  return `${iso.slice(0, 19).replace("T", " ")} UTC`;
}
