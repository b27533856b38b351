/**
 * The sentry probe: errors reported to Sentry, through its Discover API ("Query Discover Events
 * in Table Format", GET /api/0/organizations/{org}/events/), with the source's auth token in
 * the Authorization header (never in the URL or a message).
 *
 * Window: since the deploy (context.since) when there is one, else the last `window`; to now.
 * The search is `event.type:error` in the source's project, plus the probe's `query`. A project
 * given as a number is a project ID (the `project` parameter); otherwise a slug (`project:` in
 * the search).
 *
 * - errors: field=count(); the value is the number of error events.
 * - top-issues: field=issue, title, count(), sort=-count(), per_page=top; the value is the
 *   number of issues with errors (at most `top`), listed in the message and in detail.issues.
 */
import type { Probe } from "../runbook/schema/probes.js";
import { clip, getJson, metricSource } from "./api.js";
import { checkUrl, displayUrl, guard, judge, num, type Outcome } from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type SentrySpec = Extract<Probe, { type: "sentry" }>;

export interface SentryIssue {
  issue: string;
  title: string;
  count: number;
}

export const sentryProbe: ProbeImplementation<"sentry"> = {
  type: "sentry",
  measure: (spec, context) => guard("sentry", context, () => measureSentry(spec, context ?? {})),
};

async function measureSentry(spec: SentrySpec, context: ProbeContext): Promise<Outcome> {
  const source = metricSource(context, spec.source, "sentry");
  if (typeof source === "string") return { phase: "error", message: source };
  for (const key of ["org", "project", "token"] as const) {
    if (typeof source[key] !== "string" || source[key] === "") {
      return { phase: "error", message: `metric source ${spec.source} has no ${key}` };
    }
  }
  const urlProblem = checkUrl(source.url);
  if (urlProblem) {
    return {
      phase: "error",
      message: `metric source ${spec.source}: ${displayUrl(source.url)}: ${urlProblem}`,
    };
  }
  if (spec.measure !== "errors" && spec.measure !== "top-issues") {
    return { phase: "error", message: "measure is errors or top-issues" };
  }
  if (spec.query !== undefined && typeof spec.query !== "string") {
    return { phase: "error", message: "query must be Sentry search text, e.g. level:error" };
  }
  const window = countWindow(context.since, spec.window?.ms, spec.window?.text);
  if (typeof window === "string") return { phase: "error", message: window };

  const byId = /^\d+$/.test(source.project);
  const search = [
    "event.type:error",
    byId ? "" : `project:${searchValue(source.project)}`,
    spec.query?.trim(),
  ]
    .filter(Boolean)
    .join(" ");
  const params = new URLSearchParams();
  if (spec.measure === "errors") params.append("field", "count()");
  else {
    for (const field of ["issue", "title", "count()"]) params.append("field", field);
    params.set("sort", "-count()");
    params.set("per_page", String(spec.top));
  }
  params.set("query", search);
  params.set("start", new Date(window.from).toISOString());
  params.set("end", new Date(window.to).toISOString());
  if (byId) params.set("project", source.project);

  const base = `${source.url.replace(/\/+$/, "")}/api/0/organizations/${encodeURIComponent(source.org)}/events/`;
  const answer = await getJson(
    `GET ${displayUrl(base)}`,
    {
      method: "GET",
      url: `${base}?${params}`,
      headers: { accept: "application/json", authorization: `Bearer ${source.token}` },
      timeout: spec.timeout,
    },
    context.signal,
    { secrets: [source.token], credentials: "token", notFound: "url and org", detail: sentryError },
  );
  if ("problem" in answer) return { phase: "error", message: answer.problem };
  const rows = (answer.json as { data?: unknown } | null)?.data;
  if (!Array.isArray(rows)) {
    return { phase: "error", message: `${answer.what}: not a Sentry events answer (no "data" list)` };
  }
  const matching = spec.query?.trim() ? ` matching ${JSON.stringify(spec.query.trim())}` : "";
  const where = `in ${source.project}${matching} ${window.said}`;
  const detail = {
    query: search,
    from: new Date(window.from).toISOString(),
    to: new Date(window.to).toISOString(),
  };

  if (spec.measure === "errors") {
    // An aggregate answers one row; no row at all means nothing matched.
    const count = rows.length === 0 ? 0 : countOf(rows[0]);
    if (count === undefined) {
      return { phase: "error", message: `${answer.what}: no count() in ${clip(JSON.stringify(rows[0]))}` };
    }
    return judge(count, `${count} ${count === 1 ? "error" : "errors"} ${where}`, spec.expect, { detail });
  }

  const issues: SentryIssue[] = [];
  for (const row of rows) {
    const { issue, title } = (row ?? {}) as { issue?: unknown; title?: unknown };
    const count = countOf(row);
    if (typeof issue !== "string" || count === undefined) {
      return { phase: "error", message: `${answer.what}: unreadable issue row ${clip(JSON.stringify(row))}` };
    }
    issues.push({ issue, title: typeof title === "string" ? title : "", count });
  }
  issues.sort((a, b) => b.count - a.count);
  const listed = issues
    .slice(0, 3)
    .map((i) => `${i.issue} ${JSON.stringify(clip(i.title, 50))} ×${num(i.count)}`);
  const more = issues.length > 3 ? `, +${issues.length - 3} more` : "";
  const said = issues.length
    ? `${issues.length} ${issues.length === 1 ? "issue" : "issues"} with errors ${where}: ${listed.join(", ")}${more}`
    : `no issues with errors ${where}`;
  return judge(issues.length, said, spec.expect, { detail: { ...detail, issues } });
}

function countOf(row: unknown): number | undefined {
  const v = (row as Record<string, unknown> | null)?.["count()"];
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A value in Sentry search syntax: quoted when it holds a space, a quote or a parenthesis. */
function searchValue(value: string): string {
  return /^[^\s"()]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

function sentryError(json: unknown): string | undefined {
  const detail = (json as { detail?: unknown } | null)?.detail;
  return typeof detail === "string" ? detail : undefined;
}

export interface CountWindow {
  from: number;
  to: number;
  /** "since the deploy (12m ago)" or "in the last 1h". */
  said: string;
}

/**
 * From the deploy (`since`) when there is one, else the last `window`; to now. A deploy time
 * in the future (clock skew) counts from now.
 */
export function countWindow(
  since: string | undefined,
  windowMs: number | undefined,
  windowText = "",
): CountWindow | string {
  const now = Date.now();
  if (since !== undefined) {
    const at = Date.parse(since);
    if (Number.isNaN(at)) return `the deploy time ${JSON.stringify(since)} is not a date`;
    const from = Math.min(at, now);
    return { from, to: now, said: `since the deploy (${ago(now - from)} ago)` };
  }
  if (typeof windowMs !== "number" || !(windowMs > 0))
    return "window must be a duration longer than 0, e.g. 1h";
  return { from: now - windowMs, to: now, said: `in the last ${windowText}` };
}

/** 45s, 12m, 3h05m, 2d4h. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}
