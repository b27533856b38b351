import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closest } from "./suggest.js";

describe("closest", () => {
  const keys = ["gates", "checks", "smoke", "monitor", "rollback", "environments", "metadata"];
  it("finds plausible typos", () => {
    assert.equal(closest("gatse", keys), "gates");
    assert.equal(closest("chekcs", keys), "checks");
    assert.equal(closest("enviroments", keys), "environments");
    assert.equal(closest("Monitor", keys), "monitor");
    assert.equal(closest("roll", keys), "rollback");
  });
  it("stays quiet when nothing is close", () => {
    assert.equal(closest("banana", keys), undefined);
    assert.equal(closest("x", keys), undefined);
    assert.equal(closest("gates", []), undefined);
  });
});
