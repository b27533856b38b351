/**
 * A signed JSON POST, as Standard Webhooks describes
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
 * `webhook-id` is the message's key, the same on every attempt, so a receiver can drop a
 * repeat; `webhook-timestamp` is the attempt's time, and `webhook-signature` signs id,
 * timestamp and body together (the `standardwebhooks` library computes it). A receiver cannot
 * be asked afterwards what it got, so there is no `find`.
 */
import { Webhook } from "standardwebhooks";
import { VERSION } from "../version.js";
import {
  attempt,
  errorText,
  type Failure,
  failure,
  fieldPath,
  networkProblem,
  oneLine,
  retryAfterMs,
  scrubbed,
  scrubber,
} from "./shared.js";
import type { ChannelModule, Delivery, Message } from "./types.js";

/** How much of an error answer's body is read, for its first words. */
const EXCERPT_BYTES = 2048;

export const webhookChannel: ChannelModule<"webhook"> = {
  type: "webhook",
  create(spec, name, env) {
    const where = fieldPath(name, "url");
    const url = env.field(spec.url, where);
    // Only the origin is shown: a path or query may hold a token.
    const origin = originOf(url, where);
    const secret = spec.secret === undefined ? undefined : env.field(spec.secret, fieldPath(name, "secret"));
    const signer = secret === undefined ? undefined : signerFor(secret, fieldPath(name, "secret"));
    const scrub = scrubber(env, [url, secret]);
    return {
      type: "webhook",
      target: origin,
      minIntervalMs: 0,
      async send(message, signal) {
        let body: string;
        try {
          body = JSON.stringify(payloadOf(message));
        } catch (err) {
          return scrubbed(
            failure(`webhook: the message's data is not JSON: ${errorText(err)}`, false),
            scrub,
          );
        }
        const id = headerSafe(message.key);
        const at = new Date();
        const headers: Record<string, string> = {
          "content-type": "application/json",
          "user-agent": `gantry/${VERSION}`,
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        };
        if (signer) headers["webhook-signature"] = signer.sign(id, at, body);
        const a = attempt(spec.timeout, signal);
        try {
          // A redirect is not followed: fetch would turn the POST into a GET and drop the body.
          const res = await fetch(url, {
            method: "POST",
            headers,
            body,
            redirect: "manual",
            signal: a.signal,
          });
          const said = await excerpt(res);
          return scrubbed(answered(res, said, id, origin), scrub);
        } catch (err) {
          return scrubbed(failure(`webhook: ${a.stopped() ?? networkProblem(err)}`, true), scrub);
        }
      },
    };
  },
};

/** The JSON a webhook receives: the event, when, and the release with the message. */
export function payloadOf(message: Message): Record<string, unknown> {
  const { run, service, environment, version, url } = message.release;
  return {
    type: message.event,
    timestamp: message.at,
    data: {
      run,
      service,
      environment,
      version,
      ...(url ? { url } : {}),
      ...(message.subject ? { subject: message.subject } : {}),
      text: message.text,
      status: message.status,
      ...message.data,
    },
  };
}

/**
 * The signer. `whsec_<base64>` is a Standard Webhooks secret, its bytes base64-encoded. Any
 * other text is used as its UTF-8 bytes: the library's own `format: "raw"` for a string takes
 * each UTF-16 unit as one byte, which differs from every other implementation beyond ASCII.
 */
function signerFor(secret: string, where: string): Webhook {
  try {
    return secret.startsWith("whsec_")
      ? new Webhook(secret)
      : new Webhook(Buffer.from(secret, "utf8"), { format: "raw" });
  } catch {
    throw new Error(`${where}: not a usable signing secret: write whsec_ and base64, or any non-empty text`);
  }
}

function originOf(url: string, where: string): string {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    // The value is not shown: it may hold a token.
  }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) {
    throw new Error(`${where}: not an http(s) URL`);
  }
  if (u.username || u.password) {
    throw new Error(`${where}: credentials in the URL are not supported; sign the payload with \`secret\``);
  }
  return u.origin;
}

/** Header values are Latin-1: a key with other characters travels percent-encoded. */
function headerSafe(key: string): string {
  return /^[\x21-\x7e]+$/.test(key) ? key : encodeURIComponent(key);
}

function answered(res: Response, said: string, id: string, origin: string): Delivery {
  const status = res.status;
  if (status >= 200 && status < 300)
    return { ok: true, id, detail: `delivered to ${origin} (HTTP ${status})` };
  const reason = `webhook answered HTTP ${status}${res.statusText ? ` ${res.statusText}` : ""}`;
  const text = said.trim() ? `${reason}: ${oneLine(said, 200)}` : reason;
  if (status >= 300 && status < 400) return failure(`${reason}, a redirect: give the final URL`, false);
  return retrying(text, status, res.headers.get("retry-after"));
}

/** 429, 408 and 5xx may pass later (after the Retry-After asked for); any other 4xx will not. */
function retrying(text: string, status: number, retryAfter: string | null): Failure {
  const retryable = status === 429 || status === 408 || status >= 500;
  return failure(text, retryable, retryable ? retryAfterMs(retryAfter) : undefined);
}

/** The first words of an error answer; a success's body is not read. */
async function excerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  if (res.ok) {
    await res.body.cancel().catch(() => undefined);
    return "";
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // An answer cut off is still an answer: its status says enough.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8");
}
