/**
 * A local stand-in for the part of Sentry's web API that Gantry uses, on 127.0.0.1 and a free
 * port, answering from an in-memory list of events the test fills. Written from Sentry's public
 * API documentation:
 * - "Query Discover Events in Table Format": GET /api/0/organizations/{organization_id_or_slug}/events/
 *   https://docs.sentry.io/api/discover/query-discover-events-in-table-format/
 *   Parameters: field (repeated; plain fields group the rows, count() counts them), query
 *   (search syntax), project (numeric IDs), start/end (ISO 8601; no zone means UTC) or
 *   statsPeriod (e.g. 24h), sort (a field, `-` for descending), per_page (at most 100).
 *   Answer: {"data": [{<field>: value, …}], "meta": {"fields": {<field>: type}}}.
 * - "Authentication" (https://docs.sentry.io/api/auth/): `Authorization: Bearer <token>`.
 *   Errors are JSON {"detail": "…"}.
 *
 * - The store endpoint of Sentry's ingestion protocol (https://develop.sentry.dev/sdk/data-model/event-payloads/
 *   and https://develop.sentry.dev/sdk/overview/#authentication): POST /api/{project_id}/store/ with
 *   `X-Sentry-Auth: Sentry sentry_key=<the DSN's public key>, …` and one JSON event (timestamp,
 *   level, environment, tags as an object or [key, value] pairs, exception.values[] or message).
 *   Only when `dsnKey` is given, for stand-ins whose apps report their errors; answers {"id"}.
 *   Events with the same title get the same issue short ID (<PROJECT>-<n>).
 *
 * Only count() is supported as an aggregate, and only these search forms: `key:value`,
 * `key:"quoted value"`, `!key:value`, `has:key`, `!has:key` and free text (matched against the
 * title). Unlike Sentry, a wrong token is echoed back in the 401 detail, so that tests can
 * check a probe redacts what a server echoes.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { listenAt } from "./listen-at.js";

export interface SentryEvent {
  /** When it happened: ISO text or epoch milliseconds. */
  timestamp: string | number;
  /** Issue short ID, e.g. WEB-1, and its title. */
  issue: string;
  title: string;
  /** Project slug; the first project when absent. */
  project?: string;
  /** event.type: error (default), default, transaction… */
  type?: string;
  level?: string;
  environment?: string;
  tags?: Record<string, string>;
}

export interface SentryApiOptions {
  token: string;
  org: string;
  projects: Array<{ slug: string; id: number }>;
  /** The DSN's public key: turns on the store endpoint (default: off). */
  dsnKey?: string;
  /** A fixed port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface SentryApi {
  url: string;
  events: SentryEvent[];
  /** What each request asked: the path with its query string, and the Authorization header. */
  requests: Array<{ url: string; authorization: string | undefined }>;
}

type Row = Record<string, string | number>;

const GROUP_FIELDS = ["issue", "title", "project", "level", "environment", "event.type"];
const MAX_PER_PAGE = 100;

export async function startSentryApi(
  options: SentryApiOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<SentryApi> {
  const api: SentryApi = { url: "", events: [], requests: [] };
  const issues = new Map<string, string>(); // `${project} ${title}` → short ID
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const store = /^\/api\/(\d+)\/store\/$/.exec(req.url ?? "");
    if (store && options.dsnKey !== undefined) {
      let raw = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        raw += chunk;
      });
      req.on("end", () => {
        const answer = ingest(Number(store[1]), req.headers["x-sentry-auth"], raw, options, issues);
        if (typeof answer === "string") return reply(answer === "bad key" ? 401 : 400, { detail: answer });
        api.events.push(answer.event);
        return reply(200, { id: answer.id });
      });
      return;
    }
    api.requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const auth = req.headers.authorization;
    if (!auth) return reply(401, { detail: "Authentication credentials were not provided." });
    if (auth !== `Bearer ${options.token}`) return reply(401, { detail: `Invalid token: ${auth}` });
    const url = new URL(req.url ?? "/", "http://localhost");
    const m = /^\/api\/0\/organizations\/([^/]+)\/events\/$/.exec(url.pathname);
    if (!m || decodeURIComponent(m[1]!) !== options.org) {
      return reply(404, { detail: "The requested resource does not exist" });
    }
    if (req.method !== "GET") return reply(405, { detail: `Method "${req.method}" not allowed.` });
    const answer = discover(url.searchParams, options, api.events);
    return typeof answer === "string" ? reply(400, { detail: answer }) : reply(200, answer);
  });
  const port = await listenAt(server, cleanup, options.port);
  api.url = `http://127.0.0.1:${port}`;
  return api;
}

/** One event sent to the store endpoint, as the events list keeps it; or why it is refused. */
function ingest(
  projectId: number,
  auth: string | string[] | undefined,
  raw: string,
  options: SentryApiOptions,
  issues: Map<string, string>,
): { id: string; event: SentryEvent } | string {
  const key = /sentry_key=([^,\s]+)/.exec(String(auth ?? ""))?.[1];
  if (key !== options.dsnKey) return "bad key";
  const project = options.projects.find((p) => p.id === projectId);
  if (!project) return `Invalid project_id: ${projectId}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return "Bad data reconstructing object (JSONDecodeError)";
  }
  const exception = (body.exception as { values?: Array<{ type?: string; value?: string }> } | undefined)
    ?.values?.[0];
  const message = typeof body.message === "string" ? body.message : undefined;
  const title = exception
    ? `${exception.type ?? "Error"}: ${exception.value ?? ""}`
    : (message ?? "<unlabeled event>");
  const tagList = Array.isArray(body.tags)
    ? (body.tags as Array<[string, string]>)
    : Object.entries((body.tags as Record<string, string>) ?? {});
  const issueKey = `${project.slug} ${title}`;
  if (!issues.has(issueKey)) issues.set(issueKey, `${project.slug.toUpperCase()}-${issues.size + 1}`);
  const timestamp = body.timestamp;
  const event: SentryEvent = {
    timestamp:
      typeof timestamp === "number"
        ? timestamp * 1000
        : typeof timestamp === "string"
          ? timestamp
          : Date.now(),
    issue: issues.get(issueKey)!,
    title,
    project: project.slug,
    level: typeof body.level === "string" ? body.level : "error",
    ...(typeof body.environment === "string" ? { environment: body.environment } : {}),
    tags: Object.fromEntries(tagList.map(([k, v]) => [String(k), String(v)])),
  };
  const id = typeof body.event_id === "string" ? body.event_id : randomUUID().replaceAll("-", "");
  return { id, event };
}

function discover(
  params: URLSearchParams,
  options: SentryApiOptions,
  events: SentryEvent[],
): { data: Row[]; meta: { fields: Record<string, string> } } | string {
  const fields = params.getAll("field");
  if (fields.length === 0) return "No columns selected";
  for (const f of fields) {
    if (f !== "count()" && !GROUP_FIELDS.includes(f)) return `Unsupported field ${f} (test server)`;
  }
  if (!fields.includes("count()")) return "This test server only answers queries with count()";
  const range = timeRange(params);
  if (typeof range === "string") return range;
  const perPage = Number(params.get("per_page") ?? 50);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
    return `per_page must be between 1 and ${MAX_PER_PAGE}`;
  }

  let projects = options.projects;
  const ids = params.getAll("project").map(Number);
  if (ids.length && !ids.includes(-1)) {
    projects = projects.filter((p) => ids.includes(p.id));
    if (projects.length !== ids.length) return "Invalid project ids";
  }
  const search = parseSearch(params.get("query") ?? "");
  if (typeof search === "string") return search;
  for (const t of search) {
    if (t.key === "project" && !projects.some((p) => p.slug === t.value)) {
      return `Invalid query. Project(s) ${t.value} do not exist or are not actively selected.`;
    }
  }
  const slugs = new Set(projects.map((p) => p.slug));
  const matching = events.filter((e) => {
    const at = typeof e.timestamp === "number" ? e.timestamp : Date.parse(e.timestamp);
    const project = e.project ?? options.projects[0]!.slug;
    if (at < range.start || at >= range.end || !slugs.has(project)) return false;
    return search.every((t) => matches(t, e, project));
  });

  const groupBy = fields.filter((f) => f !== "count()");
  const groups = new Map<string, Row>();
  for (const e of matching) {
    const project = e.project ?? options.projects[0]!.slug;
    const row: Row = {};
    for (const f of groupBy) row[f] = fieldOf(e, f, project) ?? "";
    const key = JSON.stringify(row);
    const group = groups.get(key) ?? { ...row, "count()": 0 };
    group["count()"] = Number(group["count()"]) + 1;
    groups.set(key, group);
  }
  // An aggregate with nothing to group by answers one row, even when nothing matched.
  const data = groupBy.length === 0 ? [{ "count()": matching.length }] : [...groups.values()];
  const sort = params.get("sort");
  if (sort) {
    const key = sort.replace(/^-/, "");
    if (!fields.includes(key)) return `Cannot sort by a field that is not selected: ${key}`;
    const dir = sort.startsWith("-") ? -1 : 1;
    data.sort((a, b) => (a[key]! < b[key]! ? -dir : a[key]! > b[key]! ? dir : 0));
  }
  const types = Object.fromEntries(fields.map((f) => [f, f === "count()" ? "integer" : "string"]));
  return { data: data.slice(0, perPage), meta: { fields: types } };
}

function timeRange(params: URLSearchParams): { start: number; end: number } | string {
  const start = params.get("start");
  const end = params.get("end");
  if (start || end) {
    if (!start || !end) return "start and end are both required";
    const [s, e] = [start, end].map((t) => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`));
    if (Number.isNaN(s!) || Number.isNaN(e!)) return `${start} / ${end} is not a valid ISO 8601 range`;
    if (s! >= e!) return "start must be before end";
    return { start: s!, end: e! };
  }
  const period = params.get("statsPeriod") ?? "14d";
  const m = /^(\d+)([smhdw])$/.exec(period);
  if (!m) return `Invalid statsPeriod: ${period}`;
  const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as "s"];
  const now = Date.now();
  return { start: now - Number(m[1]) * unit, end: now + 1 };
}

interface Term {
  negated: boolean;
  /** undefined for free text. */
  key?: string;
  value: string;
}

const TERM = /\s*(!?)(?:([A-Za-z_][\w.[\]-]*):("(?:[^"\\]|\\.)*"|[^\s"]+)|("(?:[^"\\]|\\.)*"|[^\s"]+))/y;

function parseSearch(text: string): Term[] | string {
  const terms: Term[] = [];
  let pos = 0;
  while (text.slice(pos).trim() !== "") {
    TERM.lastIndex = pos;
    const m = TERM.exec(text);
    if (!m) return `Parse error at '${text.slice(pos).trim()}' (column ${pos + 1})`;
    pos = TERM.lastIndex;
    const raw = m[3] ?? m[4]!;
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    terms.push({ negated: m[1] === "!", ...(m[2] ? { key: m[2] } : {}), value });
  }
  return terms;
}

function fieldOf(e: SentryEvent, key: string, project: string): string | undefined {
  switch (key) {
    case "issue":
      return e.issue;
    case "title":
      return e.title;
    case "project":
      return project;
    case "event.type":
      return e.type ?? "error";
    case "level":
      return e.level ?? "error";
    case "environment":
      return e.environment;
    default:
      return e.tags?.[key.replace(/^tags\[(.*)\]$/, "$1")];
  }
}

function matches(t: Term, e: SentryEvent, project: string): boolean {
  let ok: boolean;
  if (t.key === undefined) ok = e.title.toLowerCase().includes(t.value.toLowerCase());
  else if (t.key === "has") ok = fieldOf(e, t.value, project) !== undefined;
  else ok = fieldOf(e, t.key, project) === t.value;
  return t.negated ? !ok : ok;
}
