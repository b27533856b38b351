/** How the application layer's refusals and a request's usage errors read over HTTP. */
import type { FastifyReply } from "fastify";
import type { RefusalKind } from "../app/refusal.js";
import { Refusal } from "../app/refusal.js";
import { UsageError } from "../errors.js";

const STATUS: Record<RefusalKind, number> = {
  "not-found": 404,
  "not-accepted": 409,
  busy: 409,
  blocked: 422,
  "window-closed": 409,
  unsupported: 422,
  unauthenticated: 401,
  forbidden: 403,
};

/** The JSON body of every error: what went wrong, its kind, and what to do. */
export interface ErrorBody {
  error: string;
  kind: string;
  hints: string[];
}

export function statusOf(kind: RefusalKind): number {
  return STATUS[kind];
}

/** Answers a thrown error; true when it was one the API knows (anything else is a 500). */
export function answerError(e: unknown, reply: FastifyReply): boolean {
  if (e instanceof Refusal) {
    if (e.kind === "unauthenticated") void reply.header("www-authenticate", 'Bearer realm="gantry"');
    void reply
      .code(statusOf(e.kind))
      .send({ error: e.message, kind: e.kind, hints: e.hints } satisfies ErrorBody);
    return true;
  }
  if (e instanceof UsageError) {
    void reply.code(400).send({ error: e.message, kind: "usage", hints: [] } satisfies ErrorBody);
    return true;
  }
  return false;
}
