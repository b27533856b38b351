/**
 * The few error types Gantry throws. Commands print what a person needs to know and then
 * throw `ExitError` with the exit code; the binary has exactly one `catch` (src/cli/main.ts).
 */

/** Exit codes shared by every verb. Documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** The input is invalid, or the thing checked did not pass. */
  invalid: 1,
  /** The command line itself is wrong (unknown flag, missing argument). */
  usage: 2,
  /** The runbook is valid but asks for something this version of Gantry cannot execute. */
  unsupported: 3,
  /** Another executor holds the database, or an earlier run must be finished first. */
  busy: 8,
  /** The run does not accept the request now: it has finished, waits for nothing, or the person already answered. */
  notAccepted: 10,
  /** The environment's deployment window is closed: nothing was run. */
  windowClosed: 11,
  /** Who is acting is not known (no token, or one unknown, expired or revoked). */
  unauthenticated: 12,
  /** The person may not do this (not in the role, their own release, not an administrator). */
  forbidden: 13,
  /** A bug in Gantry. */
  internal: 70,
} as const;

/** Ends the process with `code` after the command has printed its own message. */
export class ExitError extends Error {
  constructor(
    readonly code: number,
    message = `exit ${code}`,
  ) {
    super(message);
    this.name = "ExitError";
  }
}

/** A mistake on the command line: the message is printed, then the process exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Something that should never happen; printed as a bug report, never as the user's fault. */
export class InternalError extends Error {
  override name = "InternalError";
}
