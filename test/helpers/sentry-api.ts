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
 * Only count() is supported as an aggregate, and only these search forms: `key:value`,
 * `key:"quoted value"`, `!key:value`, `has:key`, `!has:key` and free text (matched against the
 * title). Unlike Sentry, a wrong token is echoed back in the 401 detail, so that tests can
 * check a probe redacts what a server echoes.
 */
import http from "node:http";
import { listen } from "../../src/probes/test-support.js";

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
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
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
  const port = await listen(server, cleanup);
  api.url = `http://127.0.0.1:${port}`;
  return api;
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
