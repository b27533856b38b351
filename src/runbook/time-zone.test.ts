import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTimeZone } from "./time-zone.js";

describe("isTimeZone", () => {
  it("knows canonical names, UTC in any case, and aliases", () => {
    for (const name of ["America/New_York", "Europe/Paris", "UTC", "utc", "Etc/UTC", "US/Pacific"])
      assert.equal(isTimeZone(name), true, name);
  });
  it("refuses what is not a time zone", () => {
    for (const name of ["America/New_Yrok", "Mars/Olympus", "", "UTC+25"])
      assert.equal(isTimeZone(name), false, name);
  });
});
