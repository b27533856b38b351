/**
 * A local stand-in for the part of Slack that Gantry uses, on 127.0.0.1 and a free port,
 * keeping messages in memory. Written from Slack's public documentation:
 * - Web API (https://docs.slack.dev/apis/web-api/): a method is POSTed to <base>/api/<method>,
 *   its arguments form-encoded (structured ones such as `blocks` and `metadata` as JSON text)
 *   or as JSON; read methods also take a GET query string. The token comes as
 *   `Authorization: Bearer` or a `token` argument. Answers are HTTP 200 with {"ok": true, …}
 *   or {"ok": false, "error": "<code>"} — not_authed, invalid_auth, channel_not_found… —
 *   except rate limits: HTTP 429 with Retry-After in seconds
 *   (https://docs.slack.dev/apis/web-api/rate-limits).
 * - chat.postMessage (https://docs.slack.dev/reference/methods/chat.postMessage): channel (an
 *   ID or a name), text, blocks, metadata, thread_ts; answers {channel (the ID), ts, message}.
 *   About one message a second per channel, short bursts allowed (a token bucket here).
 * - chat.update (https://docs.slack.dev/reference/methods/chat.update): channel ID, ts, text,
 *   blocks; message_not_found for an unknown ts. Metadata is kept unless given.
 * - conversations.history (https://docs.slack.dev/reference/methods/conversations.history): a
 *   channel's top-level messages, newest first, within oldest/latest, at most `limit`;
 *   metadata only with include_all_metadata.
 * - conversations.replies (https://docs.slack.dev/reference/methods/conversations.replies): a
 *   thread's parent then its replies, oldest first; thread_not_found for an unknown ts.
 * - auth.test (https://docs.slack.dev/reference/methods/auth.test).
 * - Block Kit (https://docs.slack.dev/reference/block-kit/blocks): at most 50 blocks; a
 *   section's text and a context element's text at most 3,000 characters; else invalid_blocks.
 * - Message metadata (https://docs.slack.dev/messaging/message-metadata): {event_type, event_payload}.
 * - Incoming webhooks (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks,
 *   errors: https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks):
 *   a JSON POST to <base>/services/T…/B…/<secret>; the body `ok`, or 400 invalid_payload or
 *   no_text, 403 invalid_token or action_prohibited, 404 no_service or channel_not_found, 410
 *   channel_is_archived, 429 when over the rate.
 *
 * Unlike Slack: one workspace and one bot, no scopes, and one page of history (has_more says
 * when there was more).
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { listenAt } from "./listen-at.js";

export interface SlackMessage {
  /** The channel's ID. */
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Block[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  via: "api" | "webhook";
  /** When the server took it (epoch ms). */
  at: number;
  /** What chat.update replaced, oldest first. */
  edited: Array<{ text: string; blocks?: Block[] }>;
}

export interface SlackRequest {
  method: string;
  path: string;
  contentType: string;
  authorization: string | undefined;
  params: Record<string, unknown>;
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface SlackApiOptions {
  token: string;
  /** Channel IDs (C0123…) or names (#releases); a name gets an ID. */
  channels: string[];
  /** Each channel's limit on new messages. Default 1 a second, bursts of 5. */
  rateLimit?: RateLimit;
  /** A fixed port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface SlackApi {
  /** The Web API base for WebClient's slackApiUrl; ends in /api/. */
  url: string;
  /** A new incoming-webhook URL that posts to `channel`. */
  webhookUrl(channel: string): string;
  /** The ID of a channel given by ID or name. */
  channelId(channel: string): string;
  messages: SlackMessage[];
  requests: SlackRequest[];
  /** The next `n` requests answer `answer`: an HTTP status, or a Slack error code. */
  failNext(n: number, answer: number | string, retryAfterSeconds?: number): void;
  rateLimit(channel: string, limit: RateLimit): void;
}

type Block = { type: string; text?: { text?: unknown }; elements?: Array<{ text?: unknown }> };

interface Room {
  id: string;
  name: string;
  limit: RateLimit;
  tokens: number;
  at: number;
}

type Params = Record<string, unknown>;
type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const BOT = { user_id: "U0GANTRY", bot_id: "B0GANTRY", team_id: "T0GANTRY" };
const MAX_TEXT = 40_000;
const WEBHOOK_STATUS: Record<string, number> = {
  invalid_payload: 400,
  no_text: 400,
  user_not_found: 400,
  invalid_token: 403,
  action_prohibited: 403,
  posting_to_general_channel_denied: 403,
  no_service: 404,
  channel_not_found: 404,
  team_disabled: 404,
  channel_is_archived: 410,
  rollup_error: 500,
};

/** Everything a message shows: its text and the text of its blocks. */
export function shownText(message: Pick<SlackMessage, "text" | "blocks">): string {
  const parts = [message.text];
  for (const block of message.blocks ?? []) {
    if (typeof block.text?.text === "string") parts.push(block.text.text);
    for (const e of block.elements ?? []) if (typeof e.text === "string") parts.push(e.text);
  }
  return parts.join("\n");
}

export async function startSlackApi(
  options: SlackApiOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<SlackApi> {
  const defaultLimit = options.rateLimit ?? { perSecond: 1, burst: 5 };
  const rooms: Room[] = [];
  const hooks = new Map<string, Room>();
  const planned: Array<{ answer: number | string; retryAfter?: number }> = [];
  let base = "";
  let lastTs = 0;

  const room = (channel: unknown, byName = true): Room | undefined => {
    const c = String(channel ?? "");
    return rooms.find((r) => r.id === c || (byName && (r.name === c || `#${r.name}` === c)));
  };
  const nextTs = () => {
    lastTs = Math.max(Date.now() * 1000, lastTs + 100);
    return `${Math.floor(lastTs / 1e6)}.${String(lastTs % 1e6).padStart(6, "0")}`;
  };
  /** Takes one message from the channel's bucket; the seconds to wait when it is empty. */
  const overRate = (r: Room): number | undefined => {
    const now = Date.now();
    r.tokens = Math.min(r.limit.burst, r.tokens + ((now - r.at) / 1000) * r.limit.perSecond);
    r.at = now;
    if (r.tokens >= 1) {
      r.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - r.tokens) / r.limit.perSecond));
  };

  for (const [i, c] of options.channels.entries()) {
    const isId = /^[CGD][A-Z0-9]{2,}$/.test(c);
    const id = isId ? c : `C0TEST${String(i + 1).padStart(4, "0")}`;
    const name = isId ? c.toLowerCase() : c.replace(/^#/, "");
    rooms.push({ id, name, limit: defaultLimit, tokens: defaultLimit.burst, at: Date.now() });
  }

  const api: SlackApi = {
    url: "",
    messages: [],
    requests: [],
    webhookUrl(channel) {
      const r = room(channel);
      if (!r) throw new Error(`no channel ${channel} in this Slack`);
      const secret = randomBytes(12).toString("hex");
      hooks.set(secret, r);
      return `${base}/services/${BOT.team_id}/B0HOOK${hooks.size}/${secret}`;
    },
    channelId(channel) {
      const r = room(channel);
      if (!r) throw new Error(`no channel ${channel} in this Slack`);
      return r.id;
    },
    failNext(n, answer, retryAfter) {
      for (let i = 0; i < n; i++)
        planned.push({ answer, ...(retryAfter === undefined ? {} : { retryAfter }) });
    },
    rateLimit(channel, limit) {
      const r = room(channel);
      if (!r) throw new Error(`no channel ${channel} in this Slack`);
      Object.assign(r, { limit, tokens: limit.burst, at: Date.now() });
    },
  };

  const ok = (body: Params): Answer => ({ status: 200, body: { ok: true, ...body } });
  const error = (code: string, extra: Params = {}): Answer => ({
    status: 200,
    body: { ok: false, error: code, ...extra },
  });
  const limited = (seconds: number, body: unknown = { ok: false, error: "ratelimited" }): Answer => ({
    status: 429,
    body,
    headers: { "retry-after": String(seconds) },
  });

  const shown = (m: SlackMessage, metadata: boolean) => ({
    type: "message",
    user: BOT.user_id,
    bot_id: BOT.bot_id,
    text: m.text,
    ts: m.ts,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(m.edited.length ? { edited: { user: BOT.user_id, ts: m.ts } } : {}),
    ...(metadata && m.metadata ? { metadata: m.metadata } : {}),
  });

  /** The new text and blocks of chat.postMessage and chat.update, or the error. */
  const content = (p: Params): { text: string; blocks?: Block[] } | Answer => {
    const text = typeof p.text === "string" ? p.text : "";
    const blocks = structured(p.blocks);
    if (blocks === INVALID) return error("invalid_blocks_format");
    if (!text && !(Array.isArray(blocks) && blocks.length)) return error("no_text");
    if (text.length > MAX_TEXT) return error("msg_too_long");
    if (blocks === undefined) return { text };
    const problem = blocksProblem(blocks);
    return problem ? error("invalid_blocks", { errors: [problem] }) : { text, blocks: blocks as Block[] };
  };

  const methods: Record<string, (p: Params) => Answer> = {
    "auth.test": () =>
      ok({ url: "https://gantry-test.slack.com/", team: "Gantry Test", user: "gantry", ...BOT }),
    "chat.postMessage": (p) => {
      const r = room(p.channel);
      if (!r) return error("channel_not_found");
      const c = content(p);
      if ("status" in c) return c;
      const metadata = structured(p.metadata);
      if (metadata !== undefined && !isMetadata(metadata)) return error("invalid_metadata_format");
      const wait = overRate(r);
      if (wait !== undefined) return limited(wait);
      const m: SlackMessage = { channel: r.id, ts: nextTs(), ...c, via: "api", edited: [], at: Date.now() };
      if (typeof p.thread_ts === "string" && p.thread_ts) m.thread_ts = p.thread_ts;
      if (metadata !== undefined) m.metadata = metadata as SlackMessage["metadata"];
      api.messages.push(m);
      return ok({ channel: r.id, ts: m.ts, message: shown(m, false) });
    },
    "chat.update": (p) => {
      const r = room(p.channel, false);
      if (!r) return error("channel_not_found");
      const m = api.messages.find((x) => x.channel === r.id && x.ts === p.ts);
      if (!m) return error("message_not_found");
      const c = content(p);
      if ("status" in c) return c;
      const metadata = structured(p.metadata);
      if (metadata !== undefined && !isMetadata(metadata)) return error("invalid_metadata_format");
      m.edited.push({ text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
      m.text = c.text;
      if (c.blocks) m.blocks = c.blocks;
      else delete m.blocks;
      if (metadata !== undefined) m.metadata = metadata as SlackMessage["metadata"];
      return ok({ channel: r.id, ts: m.ts, text: m.text, message: shown(m, false) });
    },
    "conversations.history": (p) => {
      const r = room(p.channel, false);
      if (!r) return error("channel_not_found");
      const top = api.messages.filter((m) => m.channel === r.id && (!m.thread_ts || m.thread_ts === m.ts));
      return page(top.reverse(), p, (m) => shown(m, flag(p.include_all_metadata)));
    },
    "conversations.replies": (p) => {
      const r = room(p.channel, false);
      if (!r) return error("channel_not_found");
      const parent = api.messages.find((m) => m.channel === r.id && m.ts === p.ts && !m.thread_ts);
      if (!parent) return error("thread_not_found");
      const replies = api.messages.filter((m) => m.channel === r.id && m.thread_ts === parent.ts);
      return page([parent, ...replies], p, (m) => shown(m, flag(p.include_all_metadata)));
    },
  };

  const call = (method: string, p: Params, authorization: string | undefined): Answer => {
    const next = planned.shift();
    if (next) {
      if (typeof next.answer === "string") return error(next.answer);
      if (next.answer === 429) return limited(next.retryAfter ?? 1);
      return { status: next.answer, body: { ok: false, error: "test_failure" } };
    }
    const token =
      /^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? (typeof p.token === "string" ? p.token : "");
    if (!token) return error("not_authed");
    if (token !== options.token) return error("invalid_auth");
    const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
    return handler ? handler(p) : error("unknown_method");
  };

  const webhook = (secret: string, body: string): Answer => {
    const text = (code: string, status: number): Answer => ({ status, body: code });
    const next = planned.shift();
    if (next) {
      if (typeof next.answer === "string") return text(next.answer, WEBHOOK_STATUS[next.answer] ?? 400);
      if (next.answer === 429) return limited(next.retryAfter ?? 1, "rate_limited");
      return text("test_failure", next.answer);
    }
    const r = hooks.get(secret);
    if (!r) return text("no_service", 404);
    let p: unknown;
    try {
      p = JSON.parse(body);
    } catch {
      return text("invalid_payload", 400);
    }
    if (!p || typeof p !== "object") return text("invalid_payload", 400);
    const c = content(p as Params);
    if ("status" in c) return text(String((c.body as { error: string }).error), 400);
    const wait = overRate(r);
    if (wait !== undefined) return limited(wait, "rate_limited");
    const m: SlackMessage = { channel: r.id, ts: nextTs(), ...c, via: "webhook", edited: [], at: Date.now() };
    const metadata = (p as Params).metadata;
    if (isMetadata(metadata)) m.metadata = metadata as SlackMessage["metadata"];
    api.messages.push(m);
    return text("ok", 200);
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://localhost");
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    const params = paramsOf(req.method ?? "GET", contentType, url, body);
    const authorization = req.headers.authorization;
    api.requests.push({ method: req.method ?? "", path: url.pathname, contentType, authorization, params });
    const hook = /^\/services\/[^/]+\/[^/]+\/([^/]+)$/.exec(url.pathname);
    const method = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    const answer: Answer = hook
      ? webhook(hook[1]!, body)
      : method
        ? call(method[1]!, params, authorization)
        : { status: 404, body: "not found" };
    const json = typeof answer.body !== "string";
    res.writeHead(answer.status, {
      "content-type": json ? "application/json; charset=utf-8" : "text/html",
      ...answer.headers,
    });
    res.end(json ? JSON.stringify(answer.body) : answer.body);
  });
  const port = await listenAt(server, cleanup, options.port);
  base = `http://127.0.0.1:${port}`;
  api.url = `${base}/api/`;
  return api;
}

/** One page of messages, as history and replies answer: within oldest/latest, at most `limit`. */
function page(messages: SlackMessage[], p: Params, show: (m: SlackMessage) => unknown): Answer {
  const inclusive = flag(p.inclusive);
  const oldest = p.oldest === undefined ? undefined : Number(p.oldest);
  const latest = p.latest === undefined ? undefined : Number(p.latest);
  const within = messages.filter((m) => {
    const ts = Number(m.ts);
    if (oldest !== undefined && (inclusive ? ts < oldest : ts <= oldest)) return false;
    return latest === undefined || (inclusive ? ts <= latest : ts < latest);
  });
  const limit = Math.min(999, Math.max(1, Number(p.limit ?? 100) || 100));
  return {
    status: 200,
    body: {
      ok: true,
      messages: within.slice(0, limit).map(show),
      has_more: within.length > limit,
      response_metadata: { next_cursor: "" },
    },
  };
}

function paramsOf(method: string, contentType: string, url: URL, body: string): Params {
  const params: Params = Object.fromEntries(url.searchParams);
  if (method !== "POST" || !body) return params;
  if (contentType === "application/json") {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (parsed && typeof parsed === "object") Object.assign(params, parsed);
    } catch {
      // Slack answers invalid_json; here the arguments are simply missing.
    }
  } else if (contentType === "application/x-www-form-urlencoded") {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  }
  return params;
}

const INVALID = Symbol("invalid JSON");

/** A structured argument: as sent in JSON, or JSON text in a form field. */
function structured(value: unknown): unknown {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return INVALID;
  }
}

function flag(value: unknown): boolean {
  return value === true || value === 1 || value === "true" || value === "1";
}

function isMetadata(value: unknown): boolean {
  const m = value as { event_type?: unknown; event_payload?: unknown } | null;
  return (
    !!m &&
    typeof m.event_type === "string" &&
    /^[A-Za-z0-9_]+$/.test(m.event_type) &&
    !!m.event_payload &&
    typeof m.event_payload === "object"
  );
}

function blocksProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return "must be an array [json-pointer:/blocks]";
  if (blocks.length > 50) return "no more than 50 items allowed [json-pointer:/blocks]";
  for (const [i, b] of (blocks as Block[]).entries()) {
    const at = `[json-pointer:/blocks/${i}`;
    const texts =
      b.type === "section"
        ? [b.text?.text]
        : b.type === "context"
          ? (b.elements ?? []).map((e) => e.text)
          : [];
    if (b.type !== "section" && b.type !== "context") return `unsupported type ${String(b.type)} ${at}/type]`;
    if (b.type === "context" && (texts.length < 1 || texts.length > 10)) {
      return `must have 1 to 10 elements ${at}/elements]`;
    }
    for (const t of texts) {
      if (typeof t !== "string" || t.length < 1) return `must be more than 0 characters ${at}]`;
      if (t.length > 3000) return `must be less than 3001 characters ${at}]`;
    }
  }
  return undefined;
}
