import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationHint, formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it("reads single and compound units", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("2d"), 172_800_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("0s"), 0);
  });
  it("refuses what people mistype", () => {
    for (const bad of ["5", "5 min", "1.5h", "m5", "", "5M", "-5m", "5m "]) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
  });
  it("suggests the written form", () => {
    assert.match(durationHint("5 min"), /did you mean `5m`\?/);
    assert.match(durationHint("30 seconds"), /did you mean `30s`\?/);
    assert.doesNotMatch(durationHint("soon"), /did you mean/);
  });
});

describe("formatDuration", () => {
  it("round-trips", () => {
    for (const text of ["1h30m", "5m", "2d", "500ms", "0s", "1d2h3m4s"]) {
      assert.equal(formatDuration(parseDuration(text)!), text);
    }
  });
});
