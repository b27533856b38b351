/**
 * The posthog probe against a local server implementing PostHog's HogQL query API
 * (test/helpers/posthog-api.ts): event counts and ratios over the window, as seed 003 uses
 * them (i_chat_completed vs i_request_failed), event names escaped, the key.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PosthogApi, startPosthogApi } from "../../test/helpers/posthog-api.js";
import { spec } from "./conformance.js";
import { hogqlString, posthogProbe } from "./posthog.js";
import type { Measurement, MetricSource, ProbeContext } from "./types.js";

const KEY = "phx_test_personal_key_0123456789";
const minutesAgo = (m: number) => Date.now() - m * 60_000;
const CHAT_RATIO = { numerator: "i_chat_completed", denominator: ["i_chat_completed", "i_request_failed"] };
const ODD = `it's a "quoted" \\ name\nwith a newline`;

describe("posthog probe", () => {
  const stops: Array<() => unknown> = [];
  let posthog: PosthogApi;
  let metrics: Record<string, MetricSource>;

  before(async () => {
    posthog = await startPosthogApi({ token: KEY, project: "22222" }, (stop) => stops.push(stop));
    // The last 10 minutes (after a deploy 10 minutes ago): 97 completed, 3 failed.
    posthog.add("i_chat_completed", 97, minutesAgo(5));
    posthog.add("i_request_failed", 3, minutesAgo(4));
    // 10 to 15 minutes ago, before that deploy: a bad spell.
    posthog.add("i_chat_completed", 10, minutesAgo(12));
    posthog.add("i_request_failed", 40, minutesAgo(12));
    // An hour ago.
    posthog.add("i_request_failed", 500, minutesAgo(60));
    posthog.add(ODD, 2, minutesAgo(1));
    posthog.add("it's a", 7, minutesAgo(1));
    const source = (extra: Partial<Extract<MetricSource, { type: "posthog" }>> = {}): MetricSource => ({
      type: "posthog",
      url: `${posthog.url}/`,
      project: "22222",
      token: KEY,
      ...extra,
    });
    metrics = {
      posthog: source(),
      "no-key": source({ token: "" }),
      "wrong-key": source({ token: "phx_revoked" }),
    };
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const measure = (input: Record<string, unknown>, context: ProbeContext = {}): Promise<Measurement> =>
    posthogProbe.measure(spec({ type: "posthog", source: "posthog", timeout: "5s", ...input }) as never, {
      env: { name: "production", metrics },
      ...context,
    });
  const deployedAgo = (m: number) => ({ since: new Date(minutesAgo(m)).toISOString() });

  it("counts one event since the deploy when the deploy is within the window", async () => {
    const m = await measure({ event: "i_request_failed", window: "15m", expect: "< 50" }, deployedAgo(10));
    assert.equal(m.phase, "successful", m.message);
    assert.equal(m.value, 3);
    assert.equal(m.message, "3 i_request_failed events since the deploy (10m ago) (expected < 50)");
    assert.match(
      posthog.queries.at(-1)!,
      /^SELECT event, count\(\) FROM events WHERE event IN \('i_request_failed'\)/,
    );
  });

  it("counts over the window when the deploy is older, or when there is none", async () => {
    const older = await measure({ event: "i_request_failed", window: "15m" }, deployedAgo(120));
    assert.equal(older.value, 43);
    assert.equal(older.message, "43 i_request_failed events in the last 15m");
    const none = await measure({ event: "i_request_failed", window: "2h" });
    assert.equal(none.value, 543);
    const absent = await measure({ event: "i_never_sent", expect: 0 });
    assert.equal(absent.phase, "successful", absent.message);
    assert.equal(absent.value, 0);
  });

  it("measures a ratio, as seed 003: completed / (completed + failed)", async () => {
    const after = await measure({ ratio: CHAT_RATIO, window: "15m", expect: ">= 95%" }, deployedAgo(10));
    assert.equal(after.phase, "successful", after.message);
    assert.equal(after.value, 0.97);
    assert.equal(
      after.message,
      "i_chat_completed / (i_chat_completed + i_request_failed) = 0.97 (97 / 100) since the deploy (10m ago) (expected >= 95%)",
    );
    assert.deepEqual(after.detail?.counts, { i_chat_completed: 97, i_request_failed: 3 });

    const window = await measure({ ratio: CHAT_RATIO, window: "15m", expect: ">= 95%" });
    assert.equal(window.phase, "failed", window.message);
    assert.equal(window.value, 107 / 150);

    const single = await measure({
      ratio: { numerator: "i_request_failed", denominator: "i_chat_completed" },
    });
    assert.equal(single.value, 43 / 107);
    assert.match(
      single.message,
      /^i_request_failed \/ i_chat_completed = 0\.4019 \(43 \/ 107\) in the last 15m$/,
    );
  });

  it("is inconclusive when there is nothing to divide by", async () => {
    const m = await measure(
      { ratio: { numerator: "i_checkout_failed", denominator: ["i_checkout_started"] }, expect: "< 5%" },
      deployedAgo(10),
    );
    assert.equal(m.phase, "inconclusive", m.message);
    assert.equal(m.value, undefined);
    assert.equal(
      m.message,
      "no i_checkout_started events since the deploy (10m ago); the ratio cannot be measured yet",
    );
  });

  it("sends event names as escaped HogQL strings", async () => {
    assert.equal(hogqlString("it's \\ \n"), "'it\\'s \\\\ \\n'");
    const odd = await measure({ event: ODD, expect: 2 });
    assert.equal(odd.phase, "successful", odd.message);
    const injection = await measure({ event: "it's a') OR (event = 'i_request_failed", expect: 0 });
    assert.equal(injection.phase, "successful", injection.message);
    assert.equal(injection.value, 0);
  });

  it("sends the key in the Authorization header, and never shows it", async () => {
    // The server answers only `Authorization: Bearer <key>`.
    const ok = await measure({ event: "i_request_failed" }, deployedAgo(10));
    assert.equal(ok.phase, "successful", ok.message);
    const refused = await measure({ source: "wrong-key", event: "i_request_failed" });
    assert.equal(refused.phase, "error");
    assert.match(
      refused.message,
      /→ 401 unauthorized: check the source's token \(Personal API key is invalid: Bearer \*\*\*\)$/,
    );
    assert.ok(!JSON.stringify(refused).includes("phx_revoked"));
    const missing = await measure({ source: "no-key", event: "i_request_failed" });
    assert.equal(missing.phase, "error");
    assert.equal(missing.message, "metric source no-key has no token");
  });

  it("asks for exactly one of event or ratio", async () => {
    const both = await measure({ event: "a", ratio: CHAT_RATIO });
    assert.equal(both.phase, "error");
    assert.equal(both.message, "give exactly one of event or ratio");
    const neither = await measure({});
    assert.equal(neither.phase, "error");
  });
});
