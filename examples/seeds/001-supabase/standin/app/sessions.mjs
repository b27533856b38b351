/**
 * Redis-backed sessions ("production requires Redis-backed sessions", seed section 4). A login
 * gets a random token; Redis keeps the session under an HMAC of it (with SESSION_SECRET), so
 * Redis never holds a token that would open a session.
 *
 * The defect `session-namespace` (standin/defects.json) is the one this seed's faulty release
 * carries: the session is written under a new, namespaced key, but looked up under the old
 * one. Logins succeed; the next request finds no session.
 */
import { createHmac, randomBytes } from "node:crypto";

const TTL_SECONDS = 24 * 60 * 60;

export function createSessions(redis, secret, defects) {
  const id = (token) => createHmac("sha256", secret).update(token).digest("base64url");
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
