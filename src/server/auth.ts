/**
 * Every request proves who is asking with a token (`Authorization: Bearer gantry_…`), checked
 * by the application layer like the CLI's (src/app/identity.ts). A client address whose
 * requests keep failing (no token, an unknown, revoked or expired one, a refused action) is
 * answered 429 with Retry-After until its window has passed, before its token is looked at.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type pg from "pg";
import { type Identity, identifyToken } from "../app/identity.js";
import { Refusal } from "../app/refusal.js";

/** Failed requests per client address, in fixed windows. */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    /** Failures allowed per window; the next request is refused until the window ends. */
    readonly max: number,
    readonly windowMs = 60_000,
  ) {}

  /** Seconds until `client` may try again; 0 when it may now. */
  retryAfter(client: string, now = Date.now()): number {
    const w = this.windows.get(client);
    if (!w || now - w.start >= this.windowMs) return 0;
    return w.failures >= this.max ? Math.ceil((w.start + this.windowMs - now) / 1000) : 0;
  }

  failed(client: string, now = Date.now()): void {
    const w = this.windows.get(client);
    if (!w || now - w.start >= this.windowMs) this.windows.set(client, { start: now, failures: 1 });
    else w.failures += 1;
    if (this.windows.size > 10_000) this.forgetOld(now);
  }

  private forgetOld(now: number): void {
    for (const [client, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(client);
  }
}

/** The token of a request: the Authorization header's bearer token. */
export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Who sends `request`; throws Refusal("unauthenticated") saying why. */
export async function authenticate(pool: pg.Pool, request: FastifyRequest): Promise<Identity> {
  const token = bearer(request);
  if (!token) {
    throw new Refusal("unauthenticated", "this request carries no token", [
      "Send Authorization: Bearer <your Gantry token> (an administrator makes one with gantry users token NAME).",
    ]);
  }
  return identifyToken(pool, { text: token, from: "the request" });
}

/** Answers 429 when the client has failed too often; true when it did. */
export function limited(limiter: FailureLimiter, request: FastifyRequest, reply: FastifyReply): boolean {
  const wait = limiter.retryAfter(request.ip);
  if (wait === 0) return false;
  void reply
    .code(429)
    .header("retry-after", String(wait))
    .send({
      error: `too many failed requests from ${request.ip}; try again in ${wait} s`,
      kind: "rate-limited",
      hints: [],
    });
  return true;
}
