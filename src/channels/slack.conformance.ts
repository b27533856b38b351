/** The slack channel, both ways, against a local stand-in of Slack's Web API and incoming webhooks. */
import { type SlackApi, shownText, startSlackApi } from "../../test/helpers/slack-api.js";
import { closedPort, silentServer } from "../probes/test-support.js";
import { type ConformanceCase, type Received, spec } from "./conformance.js";

const TOKEN = "xoxb-1111-2222-conformanceToken";
const WRONG = "xoxb-9999-8888-aTokenSlackDoesNotKnow";
const CHANNEL = "C0RELEASES";
/** The suite posts faster than Slack's one message a second. */
const UNHURRIED = { perSecond: 100, burst: 100 };

function received(api: SlackApi, via: "api" | "webhook"): Received[] {
  return api.messages
    .filter((m) => m.via === via)
    .map((m) => {
      const key = String(m.metadata?.event_payload.key ?? "");
      // A webhook answers no ts: the channel reports the key as the message's id.
      const r: Received = { id: via === "api" ? m.ts : key, key, text: m.text, shown: shownText(m) };
      if (m.thread_ts) r.thread = m.thread_ts;
      return r;
    });
}

const webApi: ConformanceCase = {
  type: "slack",
  variant: "Web API",
  async setup(cleanup) {
    const api = await startSlackApi({ token: TOKEN, channels: [CHANNEL, "#busy"] }, cleanup);
    api.rateLimit(CHANNEL, UNHURRIED);
    const at = (extra: Record<string, unknown> = {}) =>
      spec({ type: "slack", token: TOKEN, channel: CHANNEL, api: api.url, ...extra });
    const failing = (what: string, answer: number | string, retryable: boolean) => ({
      what,
      spec: at(),
      prepare: () => api.failNext(1, answer),
      retryable,
    });
    return {
      healthy: at(),
      received: () => received(api, "api"),
      threads: true,
      refused: at({ token: WRONG }),
      unreachable: at({ api: `http://127.0.0.1:${await closedPort()}/api/` }),
      hanging: at({ api: `http://127.0.0.1:${await silentServer(cleanup)}/api/` }),
      rateLimited: { spec: at(), limit: () => api.failNext(1, 429, 2), retryAfterMs: 2000 },
      failures: [
        { what: "a channel Slack does not know", spec: at({ channel: "C0NOWHERE" }), retryable: false },
        {
          what: "a channel over its rate",
          spec: at({ channel: "#busy" }),
          prepare: () => api.rateLimit("#busy", { perSecond: 1, burst: 0 }),
          retryable: true,
        },
        failing("not_in_channel", "not_in_channel", false),
        failing("is_archived", "is_archived", false),
        failing("token_revoked", "token_revoked", false),
        failing("account_inactive", "account_inactive", false),
        failing("invalid_blocks", "invalid_blocks", false),
        failing("internal_error", "internal_error", true),
        failing("HTTP 500", 500, true),
        failing("HTTP 503", 503, true),
        failing("HTTP 404 from a proxy", 404, false),
      ],
      secrets: [TOKEN, WRONG],
    };
  },
};

const incomingWebhook: ConformanceCase = {
  type: "slack",
  variant: "incoming webhook",
  async setup(cleanup) {
    const api = await startSlackApi({ token: TOKEN, channels: [CHANNEL] }, cleanup);
    api.rateLimit(CHANNEL, UNHURRIED);
    const url = api.webhookUrl(CHANNEL);
    const unknown = url.replace(/[^/]+$/, "0123456789abcdef01234567");
    const hook = (webhook: string) => spec({ type: "slack", webhook, channel: "#releases" });
    const failing = (what: string, answer: number | string, retryable: boolean) => ({
      what,
      spec: hook(url),
      prepare: () => api.failNext(1, answer),
      retryable,
    });
    return {
      healthy: hook(url),
      received: () => received(api, "webhook"),
      threads: false,
      refused: hook(unknown),
      unreachable: hook(`http://127.0.0.1:${await closedPort()}/services/T0/B0/0123456789abcdef`),
      hanging: hook(`http://127.0.0.1:${await silentServer(cleanup)}/services/T0/B0/0123456789abcdef`),
      rateLimited: { spec: hook(url), limit: () => api.failNext(1, 429, 1), retryAfterMs: 1000 },
      failures: [
        failing("invalid_token (403)", "invalid_token", false),
        failing("channel_is_archived (410)", "channel_is_archived", false),
        failing("action_prohibited (403)", "action_prohibited", false),
        failing("rollup_error (500)", "rollup_error", true),
        failing("HTTP 503", 503, true),
      ],
      secrets: [url, unknown, url.split("/").pop()!, unknown.split("/").pop()!],
    };
  },
};

export const conformance: ConformanceCase[] = [webApi, incomingWebhook];
