/**
 * Who is acting. On a database without identities, the person is who they say they are
 * (`--as`, GANTRY_USER, USER, the login name) and is recorded as not authenticated. Once an
 * identity exists, everyone acts with their own token: GANTRY_TOKEN, or a token file only
 * they can read. A token never appears in any message.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { countIdentities, findToken, parseToken } from "../store/identities.js";
import { Refusal } from "./refusal.js";

export interface Identity {
  /** The identity's name, or the operating-system user when the database has no identities. */
  name: string;
  /** Roles granted in Gantry's store (`gantry users add NAME --role ROLE`). */
  roles: string[];
  admin: boolean;
  /** false: the database has no identities, so the OS user (or --as) is taken at its word. */
  authenticated: boolean;
  tokenId?: string;
}

export interface IdentifyOptions {
  /** The name given with `--as`: accepted only on a database without identities. */
  as?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** A command's `--as` option as identify() takes it: absent when the command was not given one. */
export function asOption(options: { as?: string | undefined }): { as?: string } {
  return options.as !== undefined ? { as: options.as } : {};
}

/**
 * Who is acting. Throws Refusal("unauthenticated" | "forbidden") with a message saying what to do.
 *
 * Example: `const me = await identify(pool, { as: options.as })` → `{ name: "ana", roles:
 * ["approver"], admin: false, authenticated: true, tokenId: "3f9c0a1b2c4d" }`.
 */
export async function identify(pool: pg.Pool, options: IdentifyOptions = {}): Promise<Identity> {
  const env = options.env ?? process.env;
  if ((await countIdentities(pool)) === 0) {
    return { name: claimedName(options.as, env).name, roles: [], admin: false, authenticated: false };
  }
  if (options.as !== undefined) {
    throw new Refusal(
      "forbidden",
      "--as cannot name someone on a database with identities; act with your own token",
      ["Leave out --as: Gantry knows who you are from GANTRY_TOKEN or your token file."],
    );
  }
  const presented = presentedToken(env);
  if (!presented) {
    throw new Refusal(
      "unauthenticated",
      "who is acting is not known: this database has identities, and there is no GANTRY_TOKEN or token file",
      howToGetAToken(env),
    );
  }
  return identifyToken(pool, presented, howToGetAToken(env));
}

/**
 * The identity a presented token proves (`from` names where it came from: GANTRY_TOKEN, a
 * file, an HTTP request). Throws Refusal("unauthenticated") for a token unknown, revoked or
 * expired; never with the token in the message.
 */
export async function identifyToken(
  pool: pg.Pool,
  presented: { text: string; from: string },
  hints: string[] = [],
): Promise<Identity> {
  const found = await findToken(pool, presented.text);
  if (!found) {
    const id = parseToken(presented.text)?.id;
    throw new Refusal(
      "unauthenticated",
      id
        ? `the token from ${presented.from} (id ${id}) is not known on this database`
        : `${presented.from} does not hold a Gantry token (a token reads gantry_<id>_<secret>)`,
      [
        ...(id
          ? ["Is it a token of another Gantry database? Check --data-dir and GANTRY_DATABASE_URL."]
          : []),
        ...hints,
      ],
    );
  }
  const { token, identity } = found;
  if (found.status === "revoked") {
    throw new Refusal(
      "unauthenticated",
      `the token ${token.id} of ${identity.name} (from ${presented.from}) was revoked at ${token.revokedAt} by ${token.revokedBy}`,
      [`Ask an administrator for a new one: gantry users token ${identity.name}`],
    );
  }
  if (found.status === "expired") {
    throw new Refusal(
      "unauthenticated",
      `the token ${token.id} of ${identity.name} (from ${presented.from}) expired at ${token.expiresAt}`,
      [`Ask an administrator for a new one: gantry users token ${identity.name}`],
    );
  }
  return {
    name: identity.name,
    roles: identity.roles,
    admin: identity.admin,
    authenticated: true,
    tokenId: token.id,
  };
}

/** The name a person gives on a database without identities, and where it came from. */
export function claimedName(
  as: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; from: string } {
  if (as) return { name: as, from: "--as" };
  if (env.GANTRY_USER) return { name: env.GANTRY_USER, from: "GANTRY_USER" };
  if (env.USER) return { name: env.USER, from: "USER" };
  try {
    return { name: os.userInfo().username, from: "the login name" };
  } catch {
    // A uid without a passwd entry (some containers).
    return { name: `uid ${process.getuid?.() ?? "unknown"}`, from: "the process's user id" };
  }
}

/** The token file looked at when GANTRY_TOKEN is not set. */
export function tokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GANTRY_TOKEN_FILE) return path.resolve(env.GANTRY_TOKEN_FILE);
  const config = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), ".config");
  return path.join(config, "gantry", "token");
}

/**
 * The token the person presents and where it came from (GANTRY_TOKEN or the token file's
 * path); undefined when there is none. A token file others can read is refused: whoever
 * read it could act as its owner.
 */
export function presentedToken(
  env: NodeJS.ProcessEnv = process.env,
): { text: string; from: string } | undefined {
  if (env.GANTRY_TOKEN) return { text: env.GANTRY_TOKEN.trim(), from: "GANTRY_TOKEN" };
  const file = tokenFile(env);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && !env.GANTRY_TOKEN_FILE) return undefined;
    throw new Refusal("unauthenticated", `cannot read the token file ${file} (GANTRY_TOKEN_FILE): ${why(e)}`);
  }
  const mode = stat.mode & 0o777;
  if (mode & 0o077) {
    throw new Refusal(
      "unauthenticated",
      `the token file ${file} can be read by other users (mode ${mode.toString(8)}); it is not used`,
      [
        `Make it private with: chmod 600 ${file}`,
        "Others may have read it: have the token replaced (gantry users token NAME, then gantry users revoke --token ID).",
      ],
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new Refusal("unauthenticated", `cannot read the token file ${file}: ${why(e)}`);
  }
  return text ? { text, from: file } : undefined;
}

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "it does not exist";
  if (code === "EISDIR") return "it is a folder";
  if (code === "EACCES") return "permission denied";
  return code ?? String(e);
}

function howToGetAToken(env: NodeJS.ProcessEnv): string[] {
  const file = tokenFile(env);
  return [
    "An administrator makes your token with: gantry users token YOUR-NAME",
    `Then: export GANTRY_TOKEN=<the token>   or write it to ${file} (chmod 600)`,
  ];
}
