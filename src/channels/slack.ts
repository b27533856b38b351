/**
 * Slack, two ways, chosen by the spec:
 * - `token` (and `channel`): the Web API through @slack/web-api. A release's messages go in
 *   one thread, its first message shows the release's status (chat.update), and after a crash
 *   a message is found again by its key, which travels in the message metadata.
 * - `webhook`: an incoming webhook through @slack/webhook. One message per event: a webhook
 *   can only post, so no threads, no status and no look-up.
 * Neither client retries on its own: the courier owns retries, and a 429 comes back to it with
 * Slack's Retry-After.
 */
import {
  ErrorCode as ApiError,
  type FetchFunction,
  type Logger,
  LogLevel,
  type MessageMetadata,
  WebClient,
} from "@slack/web-api";
import { ErrorCode as HookError, IncomingWebhook } from "@slack/webhook";
import type { ChannelSpec } from "../runbook/schema/notify.js";
import {
  type Attempt,
  attempt,
  type Failure,
  failure,
  fieldPath,
  networkProblem,
  oneLine,
  retryAfterMs,
  scrubbed,
  scrubber,
} from "./shared.js";
import { fallbackText, messageBlocks, statusBlocks } from "./slack-blocks.js";
import type { Channel, ChannelEnvironment, ChannelModule, Delivery, Message, Thread } from "./types.js";

type SlackSpec = Extract<ChannelSpec, { type: "slack" }>;

/** Slack asks for at most about one message a second in a channel. */
const MIN_INTERVAL_MS = 1000;
/** A channel, group or DM ID. conversations.history, .replies and chat.update take only IDs. */
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
/** How far before the event a look-up searches, for clocks that disagree. */
const FIND_SKEW_MS = 10 * 60_000;

/** Errors after which the same call may succeed. Every other error code is final. */
const RETRYABLE_CODES = new Set([
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "message_limit_exceeded",
  "rollup_error",
]);

const HINTS: Record<string, string> = {
  invalid_auth: "the token is not valid",
  not_authed: "no token was sent",
  account_inactive: "the token's user or workspace was deleted",
  token_revoked: "the token was revoked",
  token_expired: "the token expired",
  missing_scope: "the token lacks a scope this needs (chat:write)",
  channel_not_found: "no such channel, or the app cannot see it",
  not_in_channel: "the app is not in the channel: invite it",
  is_archived: "the channel is archived",
  channel_is_archived: "the channel is archived",
  invalid_blocks: "Slack refused the message's blocks",
  msg_too_long: "the message is too long",
  invalid_token: "the webhook URL is not valid (revoked?)",
  no_service: "the webhook URL is not valid, or its app was removed",
  action_prohibited: "the workspace does not allow this webhook to post here",
  invalid_payload: "Slack could not read the message",
};

/** The SDK's console logging is off: Gantry reports what happened through its own events. */
const QUIET: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

export const slackChannel: ChannelModule<"slack"> = {
  type: "slack",
  create(spec, name, env) {
    if (spec.token && spec.webhook) {
      throw new Error(
        `notify.channels.${name}: set either \`token\` (the Web API, with threads) or \`webhook\`, not both`,
      );
    }
    if (spec.token) return webApiChannel(spec, spec.token, name, env);
    if (spec.webhook) return webhookChannel(spec, spec.webhook, name, env);
    throw new Error(
      `notify.channels.${name}: set \`token\` and \`channel\` (the Web API) or \`webhook\` (an incoming webhook)`,
    );
  },
};

function webApiChannel(spec: SlackSpec, tokenField: string, name: string, env: ChannelEnvironment): Channel {
  const token = env.field(tokenField, fieldPath(name, "token"));
  const target = spec.channel;
  if (!target) {
    throw new Error(
      `${fieldPath(name, "channel")}: required with \`token\`: the channel's ID (C0123…) or name (#releases)`,
    );
  }
  const api = spec.api
    ? apiUrl(env.field(spec.api, fieldPath(name, "api")), fieldPath(name, "api"))
    : undefined;
  const scrub = scrubber(env, [token]);
  // chat.postMessage also takes a name, and answers with the ID, which the other methods need.
  let channelId = CHANNEL_ID.test(target) ? target : undefined;
  const channel = () => channelId ?? target;
  const client = (a: Attempt) =>
    new WebClient(token, {
      ...(api ? { slackApiUrl: api } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: spec.timeout.ms,
      logger: QUIET,
      fetch: fetchWith(a),
    });

  return {
    type: "slack",
    target,
    minIntervalMs: MIN_INTERVAL_MS,
    async send(message, signal) {
      const a = attempt(spec.timeout, signal);
      const thread = message.thread;
      try {
        const res = await client(a).chat.postMessage({
          channel: channel(),
          text: fallbackText(message.text),
          blocks: messageBlocks(message.text),
          metadata: metadataOf(message),
          unfurl_links: false,
          ...(thread ? { thread_ts: thread.id } : {}),
        });
        if (res.channel) channelId = res.channel;
        const ts = res.ts ?? message.key;
        const detail = thread ? `replied in the release's thread in ${target}` : `posted to ${target}`;
        const started = { id: ts, text: message.text, ...(res.channel ? { channel: res.channel } : {}) };
        return scrubbed(delivered(ts, detail, thread ? undefined : started), scrub);
      } catch (err) {
        return scrubbed(webApiFailure(err, "chat.postMessage", a), scrub);
      }
    },
    async find(message, signal) {
      const a = attempt(spec.timeout, signal);
      // Only what came after the event: a long thread's recent replies are past its first page.
      const search = {
        channel: message.thread?.channel ?? channel(),
        include_all_metadata: true,
        limit: 200,
        ...since(message.at),
      };
      try {
        const res = message.thread
          ? await client(a).conversations.replies({ ...search, ts: message.thread.id })
          : await client(a).conversations.history(search);
        const found = res.messages?.find(
          (m) => (m.metadata?.event_payload as Record<string, unknown> | undefined)?.key === message.key,
        );
        if (!found?.ts) return undefined;
        const thread = message.thread ? undefined : { id: found.ts, text: message.text };
        return scrubbed(delivered(found.ts, `found in ${target}`, thread), scrub);
      } catch {
        // A look-up that fails (missing_scope: no channels:history) cannot tell: send again.
        return undefined;
      }
    },
    async updateThread(thread, message, signal) {
      const a = attempt(spec.timeout, signal);
      try {
        await client(a).chat.update({
          channel: thread.channel ?? channel(),
          ts: thread.id,
          text: fallbackText(thread.text),
          blocks: statusBlocks(thread.text, message.status),
        });
        return scrubbed(delivered(thread.id, `updated the first message in ${target}`), scrub);
      } catch (err) {
        return scrubbed(webApiFailure(err, "chat.update", a), scrub);
      }
    },
  };
}

function webhookChannel(spec: SlackSpec, urlField: string, name: string, env: ChannelEnvironment): Channel {
  const where = fieldPath(name, "webhook");
  const url = env.field(urlField, where);
  if (!/^https?:\/\/[^/]/i.test(url)) {
    // The value is not shown: it is a credential.
    throw new Error(`${where}: not an http(s) URL; give the incoming-webhook URL Slack showed`);
  }
  const scrub = scrubber(env, [url]);
  const target = spec.channel ?? "Slack incoming webhook";
  return {
    type: "slack",
    target,
    minIntervalMs: MIN_INTERVAL_MS,
    async send(message, signal) {
      const a = attempt(spec.timeout, signal);
      let answer: { headers: { get(name: string): string | null } } | undefined;
      const fetch = fetchWith(a);
      const hook = new IncomingWebhook(url, {
        timeout: spec.timeout.ms,
        // The SDK's HTTP error has no headers: the response is kept for its Retry-After.
        fetch: async (u, init) => {
          const res = await fetch(u, init);
          answer = res;
          return res;
        },
      });
      try {
        await hook.send({
          text: fallbackText(message.text),
          blocks: messageBlocks(message.text),
          metadata: metadataOf(message),
          unfurl_links: false,
        });
        return scrubbed(delivered(message.key, `posted to ${target}`), scrub);
      } catch (err) {
        const wait = retryAfterMs(answer?.headers.get("retry-after"));
        return scrubbed(webhookFailure(err, a, wait), scrub);
      }
    },
  };
}

/** Fetch with the attempt's signal besides the SDK's own timeout, so that cancelling ends the request. */
function fetchWith(a: Attempt): FetchFunction {
  return (url, init) =>
    fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, a.signal]) : a.signal });
}

function metadataOf(message: Message): MessageMetadata {
  return { event_type: "gantry_message", event_payload: { key: message.key, run: message.release.run } };
}

function delivered(id: string, detail: string, thread?: Thread): Delivery {
  return thread ? { ok: true, id, thread, detail } : { ok: true, id, detail };
}

/** A look-up's `oldest`: a little before the event, as a Slack ts. */
function since(at: string): { oldest?: string } {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? {} : { oldest: ((ms - FIND_SKEW_MS) / 1000).toFixed(6) };
}

function explained(code: string): string {
  const hint = HINTS[code];
  return hint ? `${code} (${hint})` : code;
}

interface SdkError {
  code?: string;
  data?: { error?: string };
  retryAfter?: number;
  statusCode?: number;
  body?: unknown;
  original?: unknown;
}

function webApiFailure(err: unknown, method: string, a: Attempt): Failure {
  const what = `Slack ${method}`;
  const stopped = a.stopped();
  if (stopped) return failure(`${what}: ${stopped}`, true);
  const e = (err ?? {}) as SdkError;
  switch (e.code) {
    case ApiError.PlatformError: {
      const code = String(e.data?.error ?? "unknown error");
      return failure(`${what}: ${explained(code)}`, RETRYABLE_CODES.has(code));
    }
    case ApiError.RateLimitedError: {
      const seconds = Number(e.retryAfter) || 1;
      return failure(`${what}: rate limited, retry after ${seconds}s`, true, seconds * 1000);
    }
    case ApiError.HTTPError:
      return httpFailure(what, Number(e.statusCode), "");
    case ApiError.RequestError:
      return failure(`${what}: ${requestProblem(e.original, a)}`, true);
    default:
      // A 429 without a usable Retry-After, or a network error the SDK left unwrapped.
      return failure(`${what}: ${networkProblem(err)}`, true);
  }
}

function webhookFailure(err: unknown, a: Attempt, wait: number | undefined): Failure {
  const what = "Slack incoming webhook";
  const stopped = a.stopped();
  if (stopped) return failure(`${what}: ${stopped}`, true);
  const e = (err ?? {}) as SdkError;
  if (e.code === HookError.HTTPError) {
    const status = Number(e.statusCode);
    if (status === 429) return failure(`${what}: rate limited (429)`, true, wait);
    return httpFailure(what, status, typeof e.body === "string" ? e.body : "");
  }
  if (e.code === HookError.RequestError) return failure(`${what}: ${requestProblem(e.original, a)}`, true);
  return failure(`${what}: ${networkProblem(err)}`, true);
}

/** A 5xx or 408 may pass on another attempt; any other status will not. */
function httpFailure(what: string, status: number, body: string): Failure {
  const code = oneLine(body, 80);
  const said = body.trim() ? `: ${explained(code)}` : "";
  return failure(`${what}: HTTP ${status}${said}`, status >= 500 || status === 408);
}

function requestProblem(original: unknown, a: Attempt): string {
  const name = (original as { name?: unknown } | undefined)?.name;
  // The SDK's own timer, set to the attempt's time, can abort the request first.
  if (name === "TimeoutError" || name === "AbortError") return a.timedOut;
  return networkProblem(original);
}

/** The Web API's base URL as filled in for this environment: an http(s) URL, ending in a slash. */
function apiUrl(text: string, where: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `${where}: ${JSON.stringify(text)} is not a URL (write https://slack.com/api/ or a stand-in's)`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error(`${where}: ${JSON.stringify(text)} is not an http(s) URL`);
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}
