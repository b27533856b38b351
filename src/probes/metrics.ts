/**
 * The metrics probe: fetches a Prometheus text exposition (a service's /metrics) and reads one
 * number from it: a `gauge` (the current value), a counter's per-second `rate` between two
 * measurements, or a `ratio` of two counters' increases (e.g. 5xx responses over all).
 *
 * Selectors are a metric name with optional PromQL label matchers, e.g.
 * `http_requests_total{code=~"5..",method!="GET"}`. `=~` and `!~` match the whole label value,
 * as in Prometheus (JavaScript regular expression syntax); a missing label is "". All matching
 * series are summed. Series are matched by the name they are exposed under, so histograms and
 * summaries are read through their series: `foo_count`, `foo_sum`, `foo_bucket{le="0.5"}`,
 * `foo{quantile="0.99"}`. Timestamps in the exposition are ignored.
 *
 * A rate or a ratio compares with the previous measurement's `state` ({at, counters}); every
 * measurement returns the state for the next one (an `error` keeps the previous state). A
 * counter that went down was reset: a rate then counts the current value as the increase (as
 * Prometheus does), a ratio uses the current totals.
 */
import parseExposition, { type PrometheusFamily } from "parse-prometheus-text-format";
import type { Comparison } from "../runbook/expression.js";
import type { Probe } from "../runbook/schema/probes.js";
import {
  checkUrl,
  displayUrl,
  errorText,
  guard,
  hasHeader,
  judge,
  mediaType,
  num,
  type Outcome,
  send,
} from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type MetricsSpec = Extract<Probe, { type: "metrics" }>;

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  regex?: RegExp;
}

export interface Selector {
  text: string;
  name: string;
  matchers: Matcher[];
}

/** What the probe keeps between measurements: when it read, and the counter totals it saw. */
export interface MetricsState {
  /** Epoch milliseconds. */
  at: number;
  /** Selector text → summed value. */
  counters: Record<string, number>;
}

export const metricsProbe: ProbeImplementation<"metrics"> = {
  type: "metrics",
  measure: (spec, context) => guard("metrics", context, () => measureMetrics(spec, context ?? {})),
};

async function measureMetrics(spec: MetricsSpec, context: ProbeContext): Promise<Outcome> {
  const previous = readState(context.previous);
  const keep = previous ?? { at: Date.now(), counters: {} };
  const chosen = [spec.gauge, spec.rate, spec.ratio].filter((x) => x !== undefined).length;
  if (chosen !== 1) {
    return { phase: "error", message: "give exactly one of gauge, rate or ratio", state: keep };
  }
  const texts = spec.ratio ? [spec.ratio.numerator, spec.ratio.denominator] : [(spec.gauge ?? spec.rate)!];
  const selectors: Selector[] = [];
  for (const text of texts) {
    const selector = parseSelector(text);
    if (typeof selector === "string") return { phase: "error", message: selector, state: keep };
    selectors.push(selector);
  }
  const scraped = await scrape(spec, context.signal);
  if ("problem" in scraped) return { phase: "error", message: scraped.problem, state: keep };
  const now = { at: Date.now(), series: scraped.series };
  const [first, second] = selectors as [Selector, Selector?];
  if (spec.gauge) return gauge(first, now, spec.expect, keep);
  if (spec.rate) return rate(first, now, previous, spec.expect, keep);
  return ratio(first, second!, now, previous, spec.expect, keep);
}

interface Scrape {
  at: number;
  series: Series[];
}

function gauge(sel: Selector, now: Scrape, expect: Comparison | undefined, keep: MetricsState): Outcome {
  const { total, matched } = sum(sel, now.series);
  if (matched === 0) return { phase: "error", message: noMatch(sel, now.series), state: keep };
  const state: MetricsState = { at: now.at, counters: { [sel.text]: total } };
  return judge(total, `${sel.text} = ${num(total)}`, expect, { state, detail: { series: matched } });
}

function rate(
  sel: Selector,
  now: Scrape,
  previous: MetricsState | undefined,
  expect: Comparison | undefined,
  keep: MetricsState,
): Outcome {
  const { total, matched } = sum(sel, now.series);
  if (matched === 0) return { phase: "error", message: noMatch(sel, now.series), state: keep };
  const state: MetricsState = { at: now.at, counters: { [sel.text]: total } };
  const before = previousTotal(previous, sel.text);
  const seconds = previous ? (now.at - previous.at) / 1000 : 0;
  if (before === undefined) {
    return { phase: "inconclusive", message: `rate(${sel.text}): first sample; a rate needs two`, state };
  }
  if (seconds <= 0) {
    return {
      phase: "inconclusive",
      message: `rate(${sel.text}): no time passed since the previous sample`,
      state,
    };
  }
  const reset = total < before;
  const increase = reset ? total : total - before;
  const value = increase / seconds;
  const said = `rate(${sel.text}) = ${num(value)}/s over ${num(seconds)}s${reset ? " (counter reset)" : ""}`;
  return judge(value, said, expect, { state, detail: { total, increase, seconds, reset, series: matched } });
}

function ratio(
  numerator: Selector,
  denominator: Selector,
  now: Scrape,
  previous: MetricsState | undefined,
  expect: Comparison | undefined,
  keep: MetricsState,
): Outcome {
  const n = sum(numerator, now.series);
  const d = sum(denominator, now.series);
  // A counter with labels often has no series until it first counts (no 5xx yet): with the
  // denominator present, an absent numerator is 0, and the message says so.
  if (d.matched === 0) return { phase: "error", message: noMatch(denominator, now.series), state: keep };
  const absent = n.matched === 0 ? `; no series match ${numerator.text}, counted as 0` : "";
  const state: MetricsState = {
    at: now.at,
    counters: { [numerator.text]: n.total, [denominator.text]: d.total },
  };
  const nBefore = previousTotal(previous, numerator.text);
  const dBefore = previousTotal(previous, denominator.text);
  let top = n.total;
  let bottom = d.total;
  let basis: string;
  if (nBefore === undefined || dBefore === undefined || !previous) basis = "totals, first sample";
  else if (n.total < nBefore || d.total < dBefore) basis = "totals, counter reset";
  else {
    top = n.total - nBefore;
    bottom = d.total - dBefore;
    basis = `over ${num((now.at - previous.at) / 1000)}s`;
  }
  const detail = { numerator: top, denominator: bottom, basis };
  if (bottom === 0) {
    const message =
      basis === "totals, first sample"
        ? `${denominator.text} is 0; nothing to divide by yet`
        : `no increase in ${denominator.text} between samples`;
    return { phase: "inconclusive", message: `${message}${absent}`, state, detail };
  }
  const value = top / bottom;
  const said = `${numerator.text} / ${denominator.text} = ${num(value)} (${num(top)} / ${num(bottom)}, ${basis})${absent}`;
  return judge(value, said, expect, { state, detail });
}

function sum(sel: Selector, series: Series[]): { total: number; matched: number } {
  let total = 0;
  let matched = 0;
  for (const s of series) {
    if (!matches(sel, s)) continue;
    total += s.value;
    matched++;
  }
  return { total, matched };
}

function noMatch(sel: Selector, series: Series[]): string {
  const named = series.filter((s) => s.name === sel.name).length;
  return named > 0 && sel.matchers.length > 0
    ? `no series match ${sel.text} (${sel.name} has ${named} series, none with these labels)`
    : `no series match ${sel.text}`;
}

function readState(previous: unknown): MetricsState | undefined {
  if (typeof previous !== "object" || previous === null) return undefined;
  const { at, counters } = previous as Partial<MetricsState>;
  if (typeof at !== "number" || !Number.isFinite(at)) return undefined;
  if (typeof counters !== "object" || counters === null) return undefined;
  return { at, counters };
}

function previousTotal(previous: MetricsState | undefined, key: string): number | undefined {
  if (!previous || !Object.hasOwn(previous.counters, key)) return undefined;
  const v = previous.counters[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

// ---------------------------------------------------------------------------------------
// Reading the exposition

async function scrape(
  spec: MetricsSpec,
  signal: AbortSignal | undefined,
): Promise<{ series: Series[] } | { problem: string }> {
  const what = `GET ${displayUrl(spec.url)}`;
  const urlProblem = checkUrl(spec.url);
  if (urlProblem) return { problem: `${what}: ${urlProblem}` };
  const headers = hasHeader(spec.headers, "accept")
    ? spec.headers
    : { accept: "text/plain;version=0.0.4;q=1, */*;q=0.1", ...spec.headers };
  const sent = await send({ method: "GET", url: spec.url, headers, timeout: spec.timeout }, signal);
  if (!sent.ok) return { problem: `${what}: ${sent.message}` };
  const r = sent.response;
  const kind = `${mediaType(r.contentType) || "no content type"}, ${r.size} bytes`;
  if (r.status < 200 || r.status > 299) {
    return { problem: `${what} → ${r.status}, expected metrics (${kind})` };
  }
  if (r.truncated) return { problem: `${what}: response too large to read (${kind})` };
  const series = parseMetricsText(new TextDecoder().decode(r.body));
  if (typeof series === "string") return { problem: `${what}: ${series} (${kind})` };
  if (series.length === 0) return { problem: `${what}: no metrics in the response (${kind})` };
  return { series };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Series as exposed, or why the text is not Prometheus exposition. Comment lines (HELP, TYPE)
 * are left out before parsing, so the parser keeps every series under its own name (it would
 * otherwise fold histogram series into one object and lose their labels).
 */
export function parseMetricsText(text: string): Series[] | string {
  const lines = text.split("\n").filter((line) => !line.trimStart().startsWith("#"));
  // The parser silently skips a line without a name (`{"status":"ok"}`); refuse it instead.
  const nameless = lines.find((line) => line.trim() !== "" && !/^\s*[a-zA-Z_:]/.test(line));
  if (nameless !== undefined) {
    return `not Prometheus text: ${JSON.stringify(clip(nameless.trim()))} has no metric name`;
  }
  let families: PrometheusFamily[];
  try {
    // The parser drops the last sample unless the text ends with a newline.
    families = parseExposition(`${lines.join("\n")}\n`);
  } catch (err) {
    return `not Prometheus text: ${clip(errorText(err))}`;
  }
  const series: Series[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) {
      return `not Prometheus text: ${JSON.stringify(clip(family.name))} is not a metric name`;
    }
    for (const sample of family.metrics) {
      const value = toNumber(sample.value ?? "");
      if (value === undefined) {
        return `not Prometheus text: ${family.name} has value ${JSON.stringify(clip(sample.value ?? ""))}`;
      }
      series.push({ name: family.name, labels: sample.labels ?? {}, value });
    }
  }
  return series;
}

const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

function toNumber(text: string): number | undefined {
  if (!FLOAT.test(text)) return undefined;
  const lower = text.toLowerCase();
  if (lower.endsWith("nan")) return Number.NaN;
  if (lower.includes("inf")) {
    return lower.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return Number(text);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

// ---------------------------------------------------------------------------------------
// Selectors

const SELECTOR = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/s;
const MATCHER =
  /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*(?:,|$)/y;
const ESCAPES: Record<string, string> = { "\\": "\\", '"': '"', "'": "'", n: "\n", t: "\t" };

/** `name{label="v",label!="v",label=~"re",label!~"re"}`, or why it cannot be read. */
export function parseSelector(text: string): Selector | string {
  const hint = `bad metric selector \`${text}\`: write a metric name with optional labels, e.g. http_requests_total{code=~"5.."}`;
  const m = SELECTOR.exec(text);
  if (!m) return hint;
  const body = m[2] ?? "";
  const matchers: Matcher[] = [];
  let pos = 0;
  while (body.slice(pos).trim() !== "") {
    MATCHER.lastIndex = pos;
    const mm = MATCHER.exec(body);
    if (!mm) return hint;
    pos = MATCHER.lastIndex;
    const value = unquote(mm[3]!);
    if (value === undefined) {
      return `${hint} (only \\\\, \\", \\', \\n and \\t escapes are allowed in label values)`;
    }
    const matcher: Matcher = { label: mm[1]!, op: mm[2] as Matcher["op"], value };
    if (matcher.op === "=~" || matcher.op === "!~") {
      try {
        matcher.regex = new RegExp(`^(?:${value})$`);
      } catch (err) {
        return `bad regular expression in metric selector \`${text}\`: ${errorText(err)}`;
      }
    }
    matchers.push(matcher);
  }
  return { text: text.trim(), name: m[1]!, matchers };
}

function unquote(quoted: string): string | undefined {
  let out = "";
  const inner = quoted.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const escaped = ESCAPES[inner[++i] ?? ""];
    if (escaped === undefined) return undefined;
    out += escaped;
  }
  return out;
}

export function matches(sel: Selector, series: Series): boolean {
  if (series.name !== sel.name) return false;
  return sel.matchers.every((m) => {
    const v = m.label === "__name__" ? series.name : (series.labels[m.label] ?? "");
    switch (m.op) {
      case "=":
        return v === m.value;
      case "!=":
        return v !== m.value;
      case "=~":
        return m.regex!.test(v);
      case "!~":
        return !m.regex!.test(v);
    }
  });
}
