/**
 * The JSON HTTP APIs behind an environment's metric sources (Prometheus, Sentry, PostHog):
 * finding the source a probe names, and one request whose answer is read as JSON without
 * letting the source's token through.
 */
import { type Fetched, type HttpRequest, mediaType, send } from "./shared.js";
import type { MetricSource, ProbeContext } from "./types.js";

type SourceOf<T extends MetricSource["type"]> = Extract<MetricSource, { type: T }>;

/** The environment's metric source `name`, of the given type, or why there is none. */
export function metricSource<T extends MetricSource["type"]>(
  context: ProbeContext,
  name: unknown,
  type: T,
): SourceOf<T> | string {
  const sources = context.env?.metrics ?? {};
  const env = context.env?.name ? ` ${context.env.name}` : "";
  const key = String(name);
  const listed = Object.entries(sources).map(([n, s]) => `${n} (${s?.type})`);
  if (!Object.hasOwn(sources, key)) {
    const has = listed.length ? `it has ${listed.join(", ")}` : "it has none";
    return `no metric source ${key} in the environment${env} (${has}); declare it under environments.<env>.metrics`;
  }
  const source = sources[key]!;
  if (source?.type !== type) {
    const others = Object.entries(sources).filter(([, s]) => s?.type === type);
    const hint = others.length ? `; ${type} sources: ${others.map(([n]) => n).join(", ")}` : "";
    return `metric source ${key} is of type ${source?.type}, not ${type}${hint}`;
  }
  return source as SourceOf<T>;
}

export interface ApiOptions {
  /** Values never to show (tokens, header values), masked in anything read from the answer. */
  secrets: string[];
  /** What a person checks on 401/403: "headers" or "token". */
  credentials: string;
  /** What a person checks on 404, e.g. "url and org". */
  notFound: string;
  /** The API's own error text in a JSON error body, when there is one. */
  detail: (json: unknown) => string | undefined;
}

export type ApiAnswer = { what: string; response: Fetched; json: unknown } | { problem: string };

/**
 * Sends an API request and reads its JSON answer. A network failure, a status other than 2xx
 * (with the API's error text, or the start of the body) or a body that is not JSON is a
 * `problem`: one line beginning with `what` (the method and URL, without the query string).
 */
export async function getJson(
  what: string,
  request: HttpRequest,
  signal: AbortSignal | undefined,
  options: ApiOptions,
): Promise<ApiAnswer> {
  const sent = await send(request, signal);
  if (!sent.ok) return { problem: `${what}: ${sent.message}` };
  const r = sent.response;
  const kind = `${mediaType(r.contentType) || "no content type"}, ${r.size} bytes`;
  if (r.truncated) return { problem: `${what} → ${r.status}: response too large to read (${kind})` };
  const mask = (text: string) => options.secrets.reduce((t, s) => (s ? t.replaceAll(s, "***") : t), text);
  const text = mask(new TextDecoder().decode(r.body));
  let json: unknown;
  let isJson = true;
  try {
    json = JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (r.status < 200 || r.status > 299) {
    const detail = (isJson && options.detail(json)) || snippet(text) || kind;
    const auth = r.status === 401 || r.status === 403;
    const check = auth ? options.credentials : r.status === 404 ? options.notFound : "";
    const hint = check
      ? `${auth ? " unauthorized" : ""}: check the source's ${check} (${mask(detail)})`
      : `: ${mask(detail)}`;
    return { problem: `${what} → ${r.status}${hint}` };
  }
  if (!isJson) {
    const start = snippet(text);
    return { problem: `${what} → ${r.status}, expected JSON, got ${kind}${start ? `: ${start}` : ""}` };
  }
  return { what, response: r, json };
}

/** The start of a body, on one line, without control characters. */
function snippet(text: string): string {
  return clip(
    text
      .replace(/\p{Cc}+/gu, " ")
      .replace(/\s+/g, " ")
      .trim(),
    120,
  );
}

export function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
