/**
 * A local webhook receiver as Standard Webhooks describes one
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
 * on 127.0.0.1 and a free port, at a URL whose path and query hold tokens (as real endpoints'
 * often do). Each request is checked with the standardwebhooks library's Webhook#verify: the
 * signature over "<webhook-id>.<webhook-timestamp>.<body>" must match, and the timestamp must be
 * within the library's tolerance (five minutes) of now, so a replayed or late request is
 * refused. 204 when it passes, 400 when not, 404 for another path. Every request is recorded,
 * and accepted ones are counted per webhook-id: dropping a repeated id is the receiver's half
 * of exactly-once.
 */
import { randomBytes } from "node:crypto";
import http, { type IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";
import { listen } from "../../src/probes/test-support.js";

export interface WebhookReceiverOptions {
  /** The signing secret: whsec_<base64>, or any text (its UTF-8 bytes). Without one, nothing is verified. */
  secret?: string;
}

export interface WebhookRequest {
  id: string | undefined;
  timestamp: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as JSON, or undefined when it is not JSON. */
  payload: unknown;
  /** Whether Webhook#verify accepted it (false when the receiver has no secret). */
  verified: boolean;
  /** Why verification failed. */
  error?: string;
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  requests: WebhookRequest[];
  /** How many requests with this webhook-id were accepted (2xx). */
  deliveries(id: string): number;
  /** The next `n` requests are answered `status` (with Retry-After when given). */
  failNext(n: number, status: number, retryAfterSeconds?: number): void;
  /** While down, every connection is closed as soon as it opens. */
  down(on: boolean): void;
}

/** The texts of the verified, accepted messages of one event type, each webhook-id once, in arrival order. */
export function accepted(inbox: WebhookReceiver, type: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of inbox.requests) {
    if (!r.verified || r.status >= 300 || !r.id || seen.has(r.id)) continue;
    seen.add(r.id);
    const p = r.payload as { type: string; data: { text: string } };
    if (p.type === type) out.push(p.data.text);
  }
  return out;
}

/** The verifier for a secret, read as the channel reads it (whsec_ base64, else UTF-8 bytes). */
export function verifierFor(secret: string): Webhook {
  return secret.startsWith("whsec_")
    ? new Webhook(secret)
    : new Webhook(Buffer.from(secret, "utf8"), { format: "raw" });
}

export async function startWebhookReceiver(
  options: WebhookReceiverOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<WebhookReceiver> {
  const verifier = options.secret === undefined ? undefined : verifierFor(options.secret);
  const path = `/hooks/${randomBytes(12).toString("hex")}`;
  const planned: Array<{ status: number; retryAfter?: number }> = [];
  let isDown = false;
  const requests: WebhookRequest[] = [];

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (new URL(req.url ?? "/", "http://localhost").pathname !== path) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("no such hook");
    }
    const one = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const request: WebhookRequest = {
      id: one("webhook-id"),
      timestamp: one("webhook-timestamp"),
      headers: req.headers,
      body,
      payload: json(body),
      verified: false,
      status: 204,
    };
    if (verifier) {
      try {
        const headers = {
          "webhook-id": request.id ?? "",
          "webhook-timestamp": request.timestamp ?? "",
          "webhook-signature": one("webhook-signature") ?? "",
        };
        verifier.verify(body, headers);
        request.verified = true;
      } catch (err) {
        request.error = (err as Error).message;
        request.status = 400;
      }
    }
    const failure = planned.shift();
    if (failure) request.status = failure.status;
    requests.push(request);
    const headers: Record<string, string> = { "content-type": "text/plain" };
    if (failure?.retryAfter !== undefined) headers["retry-after"] = String(failure.retryAfter);
    res.writeHead(request.status, headers);
    res.end(request.status === 204 ? undefined : (request.error ?? `test failure ${request.status}`));
  });
  server.on("connection", (socket) => {
    if (isDown) socket.destroy();
  });
  const port = await listen(server, cleanup);
  return {
    url: `http://127.0.0.1:${port}${path}?key=${randomBytes(8).toString("hex")}`,
    requests,
    deliveries: (id) => requests.filter((r) => r.id === id && r.status >= 200 && r.status < 300).length,
    failNext(n, status, retryAfter) {
      for (let i = 0; i < n; i++)
        planned.push({ status, ...(retryAfter === undefined ? {} : { retryAfter }) });
    },
    down(on) {
      isDown = on;
    },
  };
}

function json(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
