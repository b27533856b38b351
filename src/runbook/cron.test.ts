import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextTimes, parseCron } from "./cron.js";

describe("cron", () => {
  it("reads times in the routine's time zone, daylight saving included", () => {
    // 09:00 in New York: 14:00 UTC in winter (EST), 13:00 UTC once clocks go forward (8 March 2026).
    const times = nextTimes("0 9 * * *", "America/New_York", new Date("2026-03-06T15:00:00Z"), 3);
    assert.deepEqual(
      times.map((t) => t.toISOString()),
      ["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"],
    );
  });

  it("defaults to UTC; weekly on a named day; a seconds field for short schedules", () => {
    const [monday] = nextTimes("0 8 * * mon", "UTC", new Date("2026-12-02T10:00:00Z"));
    assert.equal(monday!.toISOString(), "2026-12-07T08:00:00.000Z");
    const seconds = nextTimes("*/5 * * * * *", "UTC", new Date("2026-12-02T10:00:01Z"), 2);
    assert.deepEqual(
      seconds.map((t) => t.toISOString()),
      ["2026-12-02T10:00:05.000Z", "2026-12-02T10:00:10.000Z"],
    );
  });

  it("the next time is strictly after the reference, so an occurrence is never taken twice", () => {
    const [next] = nextTimes("0 9 * * *", "UTC", new Date("2026-12-02T09:00:00Z"));
    assert.equal(next!.toISOString(), "2026-12-03T09:00:00.000Z");
  });

  it("says what is wrong with a bad expression", () => {
    const cases: Array<[string, RegExp]> = [
      ["0 9 * *", /write five fields/],
      ["61 * * * *", /invalid value for minute: 61/],
      ["0 9 * * 8", /invalid value for dayOfWeek: 8/],
      ["0 9 31 2 *", /never matches/],
      ["every day", /five fields|illegal/],
    ];
    for (const [expression, message] of cases) {
      const parsed = parseCron(expression);
      assert.equal(parsed.ok, false, expression);
      if (!parsed.ok) assert.match(parsed.error, message, expression);
    }
    assert.equal(parseCron("0 9 * * *", "Europe/Berlin").ok, true);
  });
});
