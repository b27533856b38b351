/**
 * The shared channel conformance suite's contract. Every channel type has a file
 * `src/channels/<type>.conformance.ts` exporting `conformance: ConformanceCase[]` (one case per
 * way the channel delivers: Slack has two). A case starts the real thing the channel talks to
 * (a Slack API stand-in, an SMTP server, a webhook receiver) and gives the specs the suite
 * sends with. `conformance.test.ts` finds those files and runs the same checks on each: a
 * message arrives with its text and its key, later ones join its thread, `send` never throws,
 * failures say whether to try again, and no credential shows in any Delivery.
 */
import { Channel, type ChannelSpec } from "../runbook/schema/notify.js";

/** The timeout conformance specs use, so a hanging receiver ends quickly. */
export const CONFORMANCE_TIMEOUT = "300ms";

/** A message as the receiving side got it. */
export interface Received {
  /** The receiver's id for it, as a Delivery's `id` says (Slack ts, Message-ID, webhook-id). */
  id: string;
  /** The key it carried (Slack metadata, in the Message-ID, the webhook-id). */
  key: string;
  text: string;
  /** The thread it joined (Slack thread_ts, email In-Reply-To), if any. */
  thread?: string;
  /** Everything it shows now, updates included (a Slack message's text and blocks). */
  shown: string;
}

export interface ConformanceTargets {
  /** Delivers. */
  healthy: ChannelSpec;
  /** Every message the receiving side accepted, in order. */
  received(): Received[];
  /** Whether messages gather in a thread: the first delivery returns `thread`, later ones join it. */
  threads: boolean;
  /** Wrong credentials: ok false, not retryable, and the credential nowhere in the error. */
  refused: ChannelSpec;
  /** Nothing listens there (a closed port): retryable. */
  unreachable: ChannelSpec;
  /** Accepts and never answers, with timeout CONFORMANCE_TIMEOUT: retryable, soon. */
  hanging: ChannelSpec;
  /**
   * The receiver asks to slow down (HTTP 429 with Retry-After; SMTP 451) once `limit()` is
   * called: retryable, with `retryAfterMs` when the receiver said how long.
   */
  rateLimited: { spec: ChannelSpec; limit(): void; retryAfterMs?: number };
  /** More failures and whether each is worth another attempt. `prepare` arms the receiver first. */
  failures?: Array<{ what: string; spec: ChannelSpec; prepare?(): void; retryable: boolean }>;
  /** Values that must never appear in a Delivery: tokens, passwords, webhook URLs, signing secrets. */
  secrets: string[];
  /** The runbook's folder, for specs with relative paths (an email `ca`). */
  dir?: string;
}

export interface ConformanceCase {
  type: ChannelSpec["type"];
  /** Which way of this type the case covers, when the type has several (`Web API`, `incoming webhook`). */
  variant?: string;
  /** Starts what the channel talks to and returns the specs; `cleanup` registers what to stop at the end. */
  setup(cleanup: (stop: () => unknown) => void): Promise<ConformanceTargets>;
}

/**
 * Parses a spec through the schema, as a runbook would: defaults filled in, durations read.
 * A generous timeout, so a loaded machine does not fail a healthy delivery; the hanging case
 * is sent with CONFORMANCE_TIMEOUT.
 */
export function spec(input: Record<string, unknown>): ChannelSpec {
  return Channel.parse({ timeout: "10s", ...input });
}
