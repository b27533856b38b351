/**
 * The channel contract: how Gantry tells people. One module per channel type (slack.ts,
 * email.ts, webhook.ts), found through the registry (registry.ts), each passing the shared
 * conformance suite (conformance.test.ts).
 *
 * A channel delivers one rendered message per call and never retries by itself: the engine's
 * courier (src/engine/courier.ts) owns the retry schedule, the pacing between posts and the
 * record of what was delivered, so that a crash never sends a message twice or loses one. A
 * channel only says what happened: delivered (with the receiver's id), or failed, and whether
 * trying again may help.
 */
import type { ChannelSpec, NotifyEvent } from "../runbook/schema/notify.js";

/** One message to deliver: rendered and redacted, with the key that makes it one message whatever happens. */
export interface Message {
  /**
   * The idempotency key: the same for every attempt of this message, unique across messages.
   * It travels with the message (webhook-id, the email's Message-ID, Slack message metadata) so
   * a receiver or a later look-up can tell a repeat.
   */
  key: string;
  event: NotifyEvent | "test" | "routine.failed" | "routine.recovered";
  subject?: string;
  text: string;
  /** An HTML version (email), when the template has one. */
  html?: string;
  /** The release the message is about. */
  release: { run: string; service: string; environment: string; version: string; url?: string };
  /** The release's status now, one line: shown on the thread's first message (Slack Web API). */
  status: string;
  /** The thread earlier messages of this release on this channel started; absent for the first. */
  thread?: Thread;
  /** When the event happened (ISO). */
  at: string;
  /** Values for machine receivers (the webhook's JSON): reason, outcome, durations… */
  data: Record<string, unknown>;
}

/** Where a release's messages on one channel gather: a Slack thread, an email conversation. */
export interface Thread {
  /** Slack: the first message's `ts`. Email: the first message's Message-ID. */
  id: string;
  /** The first message as delivered (its text), so its status can be updated in place. */
  text: string;
  /** Where the thread is, as the receiver names it (Slack: the channel's ID, which chat.update needs). */
  channel?: string;
}

export type Delivery =
  | {
      ok: true;
      /** The receiver's id for the message (Slack `ts`, the Message-ID, the webhook-id). */
      id: string;
      /** Set when this message starts a thread that later messages join. */
      thread?: Thread;
      /** One line on what happened (`posted to #releases`), no secret in it. */
      detail: string;
    }
  | {
      ok: false;
      /** Why, one line, no secret in it. */
      error: string;
      /** Whether another attempt may succeed (a 5xx, a timeout, a 429), or never (401, 404, a bad address). */
      retryable: boolean;
      /** What the receiver asked for before the next attempt (HTTP 429 Retry-After). */
      retryAfterMs?: number;
    };

export interface Channel {
  readonly type: ChannelSpec["type"];
  /** Where it delivers, without any secret: `#releases`, `ops@example.com`, `https://status.example.com`. */
  readonly target: string;
  /** The least time between two posts to this channel (Slack: about one message a second). */
  readonly minIntervalMs: number;
  /** Delivers one message. Never throws: a failure is a Delivery with ok false. Ends when `signal` aborts. */
  send(message: Message, signal: AbortSignal): Promise<Delivery>;
  /**
   * After a crash between the receiver's acceptance and Gantry's record of it: whether `message`
   * was delivered (found by its key). Undefined when the channel cannot tell; the message is
   * then sent again with the same key, for the receiver to recognize.
   */
  find?(message: Message, signal: AbortSignal): Promise<Delivery | undefined>;
  /** Shows `message.status` on the thread's first message (Slack Web API: chat.update). */
  updateThread?(thread: Thread, message: Message, signal: AbortSignal): Promise<Delivery>;
}

/** What a channel is created with besides its spec. */
export interface ChannelEnvironment {
  /** Reads a secret field: a reference (env:NAME, file:PATH) read, or the text as written. Throws naming `where`. */
  field(text: string, where: string): string;
  /** Removes every secret (and every credential of this channel) from a text. */
  redact(text: string): string;
  /** The runbook's folder: relative paths (an email `ca`) resolve here. */
  dir: string;
}

export interface ChannelModule<T extends ChannelSpec["type"] = ChannelSpec["type"]> {
  readonly type: T;
  /** Throws (naming the field) when the spec cannot be used: a secret not set, a bad URL. */
  create(spec: Extract<ChannelSpec, { type: T }>, name: string, env: ChannelEnvironment): Channel;
}
