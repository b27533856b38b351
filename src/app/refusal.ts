/**
 * Why Gantry refuses a request: one error type for every operation of the application layer.
 * The CLI prints the message and its hints and exits with the code its kind maps to
 * (docs/cli.md); the HTTP API will answer with a status per kind.
 */
export type RefusalKind =
  /** No such run. */
  | "not-found"
  /** The run does not accept this now: it has finished, waits for nothing, or the person already answered. */
  | "not-accepted"
  /** Another run must be finished first, or another executor holds the database. */
  | "busy"
  /** The release cannot run: a ref refused by the release policy, configuration missing. */
  | "blocked"
  /** The environment's deployment window is closed. */
  | "window-closed"
  /** The runbook uses parts this version cannot execute. */
  | "unsupported"
  /** Who is acting is not known: no token where identities exist, a token unknown, expired or revoked. */
  | "unauthenticated"
  /** The person is known but may not do this: not in the role, their own release, not an administrator. */
  | "forbidden";

export class Refusal extends Error {
  override name = "Refusal";
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** What the person can do instead, one line each. */
    readonly hints: string[] = [],
    /** For machine-readable answers. */
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
