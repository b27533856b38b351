/**
 * The posthog probe: event counts from PostHog, through its query API (POST
 * /api/projects/{project}/query/ with a HogQLQuery), with the source's personal API key in the
 * Authorization header.
 *
 * Window: the last `window`, or since the deploy (context.since) when the deploy is more
 * recent: the shorter of the two, so right after a deploy only events after it count. To now.
 *
 * - event: the number of those events (the value).
 * - ratio: numerator count / the sum of the denominator counts, e.g. completed / (completed +
 *   failed). With no denominator events in the window there is nothing to divide:
 *   `inconclusive` (missing data, as for a rule), not an error and not a pass.
 *
 * One HogQL query counts every event named, grouped by event; event names are sent as
 * escaped string literals, never as HogQL.
 */
import type { Probe } from "../runbook/schema/probes.js";
import { clip, getJson, metricSource } from "./api.js";
import { ago } from "./sentry.js";
import { checkUrl, displayUrl, guard, judge, num, type Outcome } from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type PosthogSpec = Extract<Probe, { type: "posthog" }>;

export const posthogProbe: ProbeImplementation<"posthog"> = {
  type: "posthog",
  measure: (spec, context) => guard("posthog", context, () => measurePosthog(spec, context ?? {})),
};

async function measurePosthog(spec: PosthogSpec, context: ProbeContext): Promise<Outcome> {
  const source = metricSource(context, spec.source, "posthog");
  if (typeof source === "string") return { phase: "error", message: source };
  for (const key of ["project", "token"] as const) {
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
  const wanted = eventsOf(spec);
  if (typeof wanted === "string") return { phase: "error", message: wanted };
  const window = postWindow(context.since, spec.window?.ms, spec.window?.text);
  if (typeof window === "string") return { phase: "error", message: window };

  const from = new Date(window.from).toISOString();
  const to = new Date(window.to).toISOString();
  const hogql =
    `SELECT event, count() FROM events WHERE event IN (${wanted.all.map(hogqlString).join(", ")})` +
    ` AND timestamp >= toDateTime(${hogqlString(from)}) AND timestamp < toDateTime(${hogqlString(to)})` +
    " GROUP BY event";
  const url = `${source.url.replace(/\/+$/, "")}/api/projects/${encodeURIComponent(source.project)}/query/`;
  const answer = await getJson(
    `POST ${displayUrl(url)}`,
    {
      method: "POST",
      url,
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        authorization: `Bearer ${source.token}`,
      },
      body: JSON.stringify({ query: { kind: "HogQLQuery", query: hogql } }),
      timeout: spec.timeout,
    },
    context.signal,
    { secrets: [source.token], credentials: "token", notFound: "url and project", detail: posthogError },
  );
  if ("problem" in answer) return { phase: "error", message: answer.problem };
  const results = (answer.json as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) {
    return { phase: "error", message: `${answer.what}: not a PostHog query answer (no "results" list)` };
  }
  // Events with no occurrence in the window have no row: they count 0.
  const counts: Record<string, number> = Object.fromEntries(wanted.all.map((e) => [e, 0]));
  for (const row of results) {
    const [event, raw] = Array.isArray(row) ? row : [];
    const n = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof event !== "string" || typeof n !== "number" || !Number.isFinite(n) || n < 0) {
      return {
        phase: "error",
        message: `${answer.what}: unreadable result row ${clip(JSON.stringify(row))}`,
      };
    }
    if (Object.hasOwn(counts, event)) counts[event]! += n;
  }
  const detail = { counts, from, to };

  if (wanted.event !== undefined) {
    const n = counts[wanted.event]!;
    return judge(n, `${num(n)} ${wanted.event} ${n === 1 ? "event" : "events"} ${window.said}`, spec.expect, {
      detail,
    });
  }
  const { numerator, denominator } = wanted;
  const top = counts[numerator!]!;
  const bottom = denominator.reduce((sum, e) => sum + counts[e]!, 0);
  const below = denominator.length > 1 ? `(${denominator.join(" + ")})` : denominator[0]!;
  if (bottom === 0) {
    return {
      phase: "inconclusive",
      message: `no ${denominator.join(" or ")} events ${window.said}; the ratio cannot be measured yet`,
      detail,
    };
  }
  const value = top / bottom;
  const said = `${numerator} / ${below} = ${num(value)} (${num(top)} / ${num(bottom)}) ${window.said}`;
  return judge(value, said, spec.expect, { detail });
}

interface Wanted {
  event?: string;
  numerator?: string;
  denominator: string[];
  /** Every event named, once. */
  all: string[];
}

function eventsOf(spec: PosthogSpec): Wanted | string {
  const named = (v: unknown) => typeof v === "string" && v.trim() !== "";
  if ((spec.event === undefined) === (spec.ratio === undefined)) return "give exactly one of event or ratio";
  if (spec.event !== undefined) {
    if (!named(spec.event)) return "event must be an event name, e.g. i_request_failed";
    return { event: spec.event, denominator: [], all: [spec.event] };
  }
  const { numerator, denominator } = (spec.ratio ?? {}) as { numerator?: unknown; denominator?: unknown };
  const below = Array.isArray(denominator) ? denominator : [denominator];
  if (!named(numerator) || below.length === 0 || !below.every(named)) {
    return "ratio needs a numerator event and one or more denominator events, e.g. denominator: [completed, failed]";
  }
  const all = [...new Set([numerator as string, ...(below as string[])])];
  return { numerator: numerator as string, denominator: below as string[], all };
}

/** The last `window`, or since the deploy when that is more recent; to now. */
function postWindow(
  since: string | undefined,
  windowMs: number | undefined,
  windowText = "",
): { from: number; to: number; said: string } | string {
  if (typeof windowMs !== "number" || !(windowMs > 0))
    return "window must be a duration longer than 0, e.g. 15m";
  const now = Date.now();
  const from = now - windowMs;
  if (since === undefined) return { from, to: now, said: `in the last ${windowText}` };
  const at = Date.parse(since);
  if (Number.isNaN(at)) return `the deploy time ${JSON.stringify(since)} is not a date`;
  if (at <= from) return { from, to: now, said: `in the last ${windowText}` };
  const deployed = Math.min(at, now);
  return { from: deployed, to: now, said: `since the deploy (${ago(now - deployed)} ago)` };
}

const HOGQL_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  "\b": "\\b",
  "\f": "\\f",
  "\r": "\\r",
  "\n": "\\n",
  "\t": "\\t",
  "\0": "\\0",
  "\x07": "\\a",
  "\v": "\\v",
};

/** A HogQL string literal: single quotes, backslash escapes (as PostHog's own escaping). */
export function hogqlString(text: string): string {
  return `'${[...text].map((c) => HOGQL_ESCAPES[c] ?? c).join("")}'`;
}

function posthogError(json: unknown): string | undefined {
  const detail = (json as { detail?: unknown } | null)?.detail;
  return typeof detail === "string" ? detail : undefined;
}
