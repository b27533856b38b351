import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { Environment } from "../schema/environment.js";
import { windowStatus } from "./window.js";

const env = Environment.parse({
  windows: [{ days: ["tue", "wed", "thu"], start: "10:00", end: "14:00", timezone: "America/New_York" }],
  freezes: [{ from: "2025-12-22T00:00:00-05:00", until: "2026-01-05T00:00:00-05:00", reason: "holidays" }],
});
const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });

describe("windowStatus", () => {
  it("is open inside the window, in the window's time zone", () => {
    const s = windowStatus(env, at("2025-10-07T15:00:00Z")); // Tue 11:00 EDT
    assert.equal(s.open, true);
  });
  it("is closed outside and says when it next opens", () => {
    const s = windowStatus(env, at("2025-10-09T18:30:00Z")); // Thu 14:30 EDT
    assert.equal(s.open, false);
    assert.equal(s.nextOpen, "2025-10-14T10:00:00-04:00");
  });
  it("handles the change from summer to winter time", () => {
    const s = windowStatus(env, at("2025-11-01T12:00:00Z")); // Sat; DST ends Sun 2 Nov
    assert.equal(s.nextOpen, "2025-11-04T10:00:00-05:00");
  });
  it("is closed during a freeze and opens at the first window after it", () => {
    const s = windowStatus(env, at("2025-12-23T15:00:00Z")); // Tue, inside the freeze
    assert.equal(s.open, false);
    assert.match(s.reason, /frozen until 2026-01-05T00:00:00-05:00 \(holidays\)/);
    assert.equal(s.nextOpen, "2026-01-06T10:00:00-05:00");
  });
  it("is always open without windows", () => {
    assert.equal(windowStatus(Environment.parse({}), at("2025-10-12T03:00:00Z")).open, true);
  });
});
