/**
 * Sessions. A login gets a random token; the store keeps the session under an HMAC of it (with
 * SESSION_SECRET), so the store never holds a token that would open a session. The store is
 * Redis ("production requires Redis-backed sessions", seed section 4) or, where SESSION_STORE
 * says `memory` (the stand-in's staging), the process's memory.
 *
 * The defect `session-namespace` (standin/defects.json) is the one this seed's faulty release
 * carries, in the Redis store only: the session is written under a new, namespaced key, but
 * looked up under the old one. Logins succeed; the next request finds no session. Staging, on
 * memory sessions, never sees it.
 */
import { createHmac, randomBytes } from "node:crypto";

const TTL_SECONDS = 24 * 60 * 60;

export function createSessions(store, redis, secret, defects) {
  const id = (token) => createHmac("sha256", secret).update(token).digest("base64url");
  if (store === "memory") return memorySessions(id);
  const readKey = (token) => `session:${id(token)}`;
  const writeKey = (token) =>
    defects.has("session-namespace") ? `estate-vault:session:${id(token)}` : readKey(token);

  return {
    async create(user) {
      const token = randomBytes(32).toString("base64url");
      await redis.set(writeKey(token), JSON.stringify(user), { EX: TTL_SECONDS });
      return token;
    },
    /** The session's user, or undefined when there is none for this token. */
    async find(token) {
      if (!token) return undefined;
      const stored = await redis.get(readKey(token));
      return stored ? JSON.parse(stored) : undefined;
    },
  };
}

function memorySessions(id) {
  const sessions = new Map();
  return {
    async create(user) {
      const token = randomBytes(32).toString("base64url");
      sessions.set(id(token), { user, expires: Date.now() + TTL_SECONDS * 1000 });
      return token;
    },
    async find(token) {
      const session = token ? sessions.get(id(token)) : undefined;
      return session && session.expires > Date.now() ? session.user : undefined;
    },
  };
}
