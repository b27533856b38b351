/**
 * The sentry probe against a local server implementing Sentry's Discover events API
 * (test/helpers/sentry-api.ts): error counts over the window, top issues, the token.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type SentryApi, startSentryApi } from "../../test/helpers/sentry-api.js";
import { spec } from "./conformance.js";
import { sentryProbe } from "./sentry.js";
import type { Measurement, MetricSource, ProbeContext } from "./types.js";

const TOKEN = "sntrys_test_token_0123456789";
const minutesAgo = (m: number) => Date.now() - m * 60_000;

describe("sentry probe", () => {
  const stops: Array<() => unknown> = [];
  let sentry: SentryApi;
  let metrics: Record<string, MetricSource>;

  before(async () => {
    sentry = await startSentryApi(
      {
        token: TOKEN,
        org: "dateplan",
        projects: [
          { slug: "dateplan-web", id: 42 },
          { slug: "dateplan-admin", id: 43 },
        ],
      },
      (stop) => stops.push(stop),
    );
    const error = (m: number, issue: string, title: string, extra = {}) => ({
      timestamp: minutesAgo(m),
      issue,
      title,
      environment: "production",
      ...extra,
    });
    sentry.events.push(
      // Since the deploy (20 minutes ago):
      ...Array.from({ length: 5 }, (_, i) =>
        error(15 - i, "WEB-7", "TypeError: cannot read 'plan' of undefined"),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        error(10 - i, "WEB-9", "ProviderError: voice provider timed out"),
      ),
      error(5, "WEB-11", "Warning: slow render", { level: "warning" }),
      error(4, "WEB-12", "Staging only", { environment: "staging" }),
      // Not errors, another project, or before the deploy: never counted.
      error(6, "WEB-1", "GET /api/plans", { type: "transaction" }),
      error(6, "ADM-1", "Admin broke", { project: "dateplan-admin" }),
      error(40, "WEB-2", "Fixed by this release"),
      error(50, "WEB-2", "Fixed by this release"),
      error(200, "WEB-3", "Long ago"),
    );
    const source = (extra: Partial<Extract<MetricSource, { type: "sentry" }>> = {}): MetricSource => ({
      type: "sentry",
      url: sentry.url,
      org: "dateplan",
      project: "dateplan-web",
      token: TOKEN,
      ...extra,
    });
    metrics = {
      sentry: source(),
      "by-id": source({ project: "42" }),
      "no-token": source({ token: "" }),
      "wrong-token": source({ token: "sntrys_revoked" }),
    };
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const measure = (input: Record<string, unknown>, context: ProbeContext = {}): Promise<Measurement> =>
    sentryProbe.measure(spec({ type: "sentry", source: "sentry", timeout: "5s", ...input }) as never, {
      env: { name: "production", metrics },
      ...context,
    });
  const deployed = { since: new Date(minutesAgo(20)).toISOString() };

  it("counts error events since the deploy", async () => {
    const m = await measure({ measure: "errors", expect: "< 5" }, deployed);
    assert.equal(m.phase, "failed", m.message);
    assert.equal(m.value, 10);
    assert.equal(m.message, "10 errors in dateplan-web since the deploy (20m ago), expected < 5");
    assert.equal(m.detail?.from, deployed.since);

    const request = new URL(sentry.requests.at(-1)!.url, sentry.url);
    assert.equal(request.pathname, "/api/0/organizations/dateplan/events/");
    assert.deepEqual(request.searchParams.getAll("field"), ["count()"]);
    assert.equal(request.searchParams.get("query"), "event.type:error project:dateplan-web");
    assert.equal(request.searchParams.get("start"), deployed.since);
    assert.ok(Date.parse(request.searchParams.get("end")!) >= Date.parse(deployed.since));
  });

  it("adds the probe's search query", async () => {
    const m = await measure({ query: "level:error environment:production", expect: "<= 8" }, deployed);
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 8);
    assert.match(
      m.message,
      /^8 errors in dateplan-web matching "level:error environment:production" since the deploy/,
    );
    const none = await measure({ query: "environment:canary", expect: 0 }, deployed);
    assert.equal(none.phase, "successful", none.message);
    assert.equal(none.value, 0);
  });

  it("counts over the window when there is no deploy", async () => {
    const hour = await measure({ window: "1h" });
    assert.equal(hour.value, 12);
    assert.match(hour.message, /^12 errors in dateplan-web in the last 1h$/);
    const day = await measure({ window: "1d" });
    assert.equal(day.value, 13);
  });

  it("lists the top issues", async () => {
    const m = await measure({ measure: "top-issues", top: 2, expect: "<= 3" }, deployed);
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 2);
    assert.deepEqual(m.detail?.issues, [
      { issue: "WEB-7", title: "TypeError: cannot read 'plan' of undefined", count: 5 },
      { issue: "WEB-9", title: "ProviderError: voice provider timed out", count: 3 },
    ]);
    assert.equal(
      m.message,
      `2 issues with errors in dateplan-web since the deploy (20m ago): WEB-7 "TypeError: cannot read 'plan' of undefined" ×5, WEB-9 "ProviderError: voice provider timed out" ×3 (expected <= 3)`,
    );
    const request = new URL(sentry.requests.at(-1)!.url, sentry.url);
    assert.deepEqual(request.searchParams.getAll("field"), ["issue", "title", "count()"]);
    assert.equal(request.searchParams.get("sort"), "-count()");
    assert.equal(request.searchParams.get("per_page"), "2");

    const all = await measure({ measure: "top-issues" }, deployed);
    assert.equal(all.value, 4);
    assert.match(all.message, /, \+1 more$/);
    const none = await measure({ measure: "top-issues", query: "environment:canary", expect: 0 }, deployed);
    assert.equal(none.phase, "successful");
    assert.match(none.message, /^no issues with errors in dateplan-web matching/);
  });

  it("sends a numeric project as the project ID parameter", async () => {
    const m = await measure({ source: "by-id" }, deployed);
    assert.equal(m.value, 10, m.message);
    const request = new URL(sentry.requests.at(-1)!.url, sentry.url);
    assert.equal(request.searchParams.get("project"), "42");
    assert.equal(request.searchParams.get("query"), "event.type:error");
  });

  it("sends the token in the Authorization header only, and never shows it", async () => {
    await measure({}, deployed);
    const request = sentry.requests.at(-1)!;
    assert.equal(request.authorization, `Bearer ${TOKEN}`);
    assert.ok(!request.url.includes(TOKEN));

    const wrong = await measure({ source: "wrong-token" }, deployed);
    assert.equal(wrong.phase, "error");
    assert.match(
      wrong.message,
      /→ 401 unauthorized: check the source's token \(Invalid token: Bearer \*\*\*\)$/,
    );
    assert.ok(!JSON.stringify(wrong).includes("sntrys_revoked"));

    const missing = await measure({ source: "no-token" }, deployed);
    assert.equal(missing.phase, "error");
    assert.equal(missing.message, "metric source no-token has no token");
  });

  it("is an error, never a count, when the deploy time is not a date", async () => {
    const m = await measure({}, { since: "yesterday-ish" });
    assert.equal(m.phase, "error");
    assert.match(m.message, /deploy time "yesterday-ish" is not a date/);
  });
});
