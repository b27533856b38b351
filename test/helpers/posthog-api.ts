/**
 * A local stand-in for the part of PostHog's API that Gantry uses, on 127.0.0.1 and a free
 * port, answering from an in-memory list of events the test fills. Written from PostHog's
 * public documentation:
 * - "Query" API: POST /api/projects/:project_id/query/ with {"query": {"kind": "HogQLQuery",
 *   "query": "<HogQL>"}}; the answer has "results" (rows as arrays) and "columns" (their names),
 *   plus "types". https://posthog.com/docs/api/query, https://posthog.com/docs/api/queries
 * - "API overview": a personal API key as `Authorization: Bearer <key>`; errors are JSON
 *   {"type", "code", "detail", "attr"}. https://posthog.com/docs/api
 * - HogQL string literals: single quotes with backslash escapes. https://posthog.com/docs/hogql
 *
 * Only one query shape is understood, the one Gantry sends:
 *   SELECT event, count() FROM events WHERE <condition> [AND <condition>…] GROUP BY event
 * with conditions `event IN ('a', …)`, `event = 'a'` and `timestamp <op> toDateTime('<ISO>')`
 * (op one of >= > <= <). Anything else is a 400. Unlike PostHog, a wrong key is echoed back in
 * the 401 detail, so that tests can check a probe redacts what a server echoes.
 *
 * With `projectApiKey`, it also takes events the way an app sends them, PostHog's capture
 * endpoint (https://posthog.com/docs/api/capture): POST /i/v0/e/ with {"api_key", "event",
 * "distinct_id", "properties", "timestamp"}, or POST /batch/ with {"api_key", "batch": [...]}.
 * A wrong project key is a 401 whose detail does not echo it.
 */
import http from "node:http";
import { listenAt } from "./listen-at.js";

export interface PosthogEvent {
  event: string;
  /** ISO text or epoch milliseconds. */
  timestamp: string | number;
}

export interface PosthogApiOptions {
  token: string;
  project: string;
  /** The project API key apps send events with; without it the capture endpoint is off. */
  projectApiKey?: string;
  /** A fixed port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface PosthogApi {
  url: string;
  events: PosthogEvent[];
  /** Adds `count` events named `event` at `at` (epoch ms, default now). */
  add(event: string, count: number, at?: number): void;
  /** The HogQL of each query received. */
  queries: string[];
}

export async function startPosthogApi(
  options: PosthogApiOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<PosthogApi> {
  const api: PosthogApi = {
    url: "",
    events: [],
    queries: [],
    add(event, count, at = Date.now()) {
      for (let i = 0; i < count; i++) api.events.push({ event, timestamp: at });
    },
  };
  const server = http.createServer(async (req, res) => {
    const reply = (status: number, type: string, code: string, detail: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ type, code, detail, attr: null }));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (options.projectApiKey && req.method === "POST" && /^\/(i\/v0\/e|batch)\/?$/.test(pathname)) {
      const problem = capture(Buffer.concat(chunks).toString("utf8"), options.projectApiKey, api);
      if (problem) return reply(...problem);
      // PostHog's capture endpoint answers {"status": 1} for accepted events.
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ status: 1 }));
    }
    const auth = req.headers.authorization;
    if (!auth) {
      return reply(
        401,
        "authentication_error",
        "not_authenticated",
        "Authentication credentials were not provided.",
      );
    }
    if (auth !== `Bearer ${options.token}`) {
      return reply(
        401,
        "authentication_error",
        "authentication_failed",
        `Personal API key is invalid: ${auth}`,
      );
    }
    const m = /^\/api\/projects\/([^/]+)\/query\/?$/.exec(
      new URL(req.url ?? "/", "http://localhost").pathname,
    );
    if (!m || decodeURIComponent(m[1]!) !== options.project) {
      return reply(404, "invalid_request", "not_found", "Not found.");
    }
    if (req.method !== "POST") {
      return reply(405, "invalid_request", "method_not_allowed", `Method "${req.method}" not allowed.`);
    }
    let body: { query?: { kind?: unknown; query?: unknown } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, "validation_error", "parse_error", "JSON parse error");
    }
    if (body?.query?.kind !== "HogQLQuery" || typeof body.query.query !== "string") {
      return reply(
        400,
        "validation_error",
        "invalid_input",
        "This test server only answers HogQLQuery queries",
      );
    }
    api.queries.push(body.query.query);
    const parsed = parseCountQuery(body.query.query);
    if (typeof parsed === "string") return reply(400, "validation_error", "query_error", parsed);
    const counts = new Map<string, number>();
    for (const e of api.events) {
      const at = typeof e.timestamp === "number" ? e.timestamp : Date.parse(e.timestamp);
      if (!parsed.events.includes(e.event) || !parsed.time.every((t) => t(at))) continue;
      counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        columns: ["event", "count()"],
        types: [
          ["event", "String"],
          ["count()", "UInt64"],
        ],
        results: [...counts.entries()],
        hogql: body.query.query,
        hasMore: false,
        is_cached: false,
        timezone: "UTC",
      }),
    );
  });
  const port = await listenAt(server, cleanup, options.port);
  api.url = `http://127.0.0.1:${port}`;
  return api;
}

type Problem = [status: number, type: string, code: string, detail: string];

/**
 * Keeps one event (/i/v0/e/) or a batch (/batch/) from an app, checked against the project
 * key; the error to answer when it is refused.
 */
function capture(text: string, projectApiKey: string, api: PosthogApi): Problem | undefined {
  let body: { api_key?: unknown; batch?: unknown; event?: unknown; timestamp?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return [400, "validation_error", "parse_error", "JSON parse error"];
  }
  if (body?.api_key !== projectApiKey) {
    return [401, "authentication_error", "invalid_api_key", "Project API key invalid."];
  }
  const events = Array.isArray(body.batch) ? (body.batch as Array<typeof body>) : [body];
  for (const e of events) {
    if (typeof e?.event !== "string" || !e.event) {
      return [400, "validation_error", "invalid_payload", "Every event needs an `event` name."];
    }
  }
  for (const e of events) {
    const at =
      typeof e.timestamp === "string" && !Number.isNaN(Date.parse(e.timestamp)) ? e.timestamp : Date.now();
    api.events.push({ event: e.event as string, timestamp: at });
  }
  return undefined;
}

type Token = { kind: "word" | "string" | "punct"; text: string };

const ESCAPES: Record<string, string> = {
  b: "\b",
  f: "\f",
  r: "\r",
  n: "\n",
  t: "\t",
  "0": "\0",
  a: "\x07",
  v: "\v",
};

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let value = "";
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === "\\") {
          const e = text[i + 1] ?? "";
          value += ESCAPES[e] ?? e;
          i += 2;
        } else value += text[i++];
      }
      if (i >= text.length) return "Syntax error: unterminated string";
      i++;
      tokens.push({ kind: "string", text: value });
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))!;
      tokens.push({ kind: "word", text: m[0] });
      i += m[0].length;
    } else {
      const m = /^(>=|<=|[(),=<>])/.exec(text.slice(i));
      if (!m) return `Syntax error at position ${i}: unexpected ${JSON.stringify(c)}`;
      tokens.push({ kind: "punct", text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

interface CountQuery {
  events: string[];
  time: Array<(at: number) => boolean>;
}

function parseCountQuery(text: string): CountQuery | string {
  const tokens = tokenize(text);
  if (typeof tokens === "string") return tokens;
  let pos = 0;
  const unsupported = () =>
    `Unsupported query near ${JSON.stringify(
      tokens
        .slice(pos, pos + 4)
        .map((t) => t.text)
        .join(" "),
    )} (test server)`;
  const take = (text: string) => {
    const t = tokens[pos];
    if (t && t.kind !== "string" && t.text.toLowerCase() === text.toLowerCase()) {
      pos++;
      return true;
    }
    return false;
  };
  const literal = (): string | undefined =>
    tokens[pos]?.kind === "string" ? tokens[pos++]!.text : undefined;
  for (const word of ["select", "event", ",", "count", "(", ")", "from", "events", "where"]) {
    if (!take(word)) return unsupported();
  }
  const query: CountQuery = { events: [], time: [] };
  do {
    if (take("event")) {
      if (take("=")) {
        const value = literal();
        if (value === undefined) return unsupported();
        query.events.push(value);
      } else if (take("in") && take("(")) {
        do {
          const value = literal();
          if (value === undefined) return unsupported();
          query.events.push(value);
        } while (take(","));
        if (!take(")")) return unsupported();
      } else return unsupported();
    } else if (take("timestamp")) {
      const op = tokens[pos]?.kind === "punct" ? tokens[pos++]!.text : "";
      if (![">=", ">", "<=", "<"].includes(op) || !take("toDateTime") || !take("(")) return unsupported();
      const value = literal();
      if (value === undefined || !take(")")) return unsupported();
      const at = Date.parse(value);
      if (Number.isNaN(at)) return `Invalid DateTime ${JSON.stringify(value)}`;
      const compare = {
        ">=": (t: number) => t >= at,
        ">": (t: number) => t > at,
        "<=": (t: number) => t <= at,
        "<": (t: number) => t < at,
      }[op as ">="];
      query.time.push(compare);
    } else return unsupported();
  } while (take("and"));
  if (!take("group") || !take("by") || !take("event") || pos !== tokens.length) return unsupported();
  if (query.events.length === 0) return "Unsupported query: no event condition (test server)";
  return query;
}
