import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { duration, list, percent } from "./filters.js";
import { renderTemplate } from "./template.js";

describe("message filters", () => {
  it("duration: milliseconds or a duration text, in words", () => {
    assert.equal(duration(368), "368ms");
    assert.equal(duration(95_000), "1m 35s");
    assert.equal(duration(3_600_000), "1h");
    assert.equal(duration(90_061_000), "1d 1h 1m 1s");
    assert.equal(duration("90s"), "1m 30s");
    assert.equal(duration(undefined), "");
    assert.equal(duration("soon"), "soon");
  });

  it("percent: a fraction as a percentage, digits chosen, n/a when there is no value", () => {
    assert.equal(percent(0.0123), "1.23%");
    assert.equal(percent(0.0123, 1), "1.2%");
    assert.equal(percent(1), "100.00%");
    assert.equal(percent(null), "n/a");
    assert.equal(percent("x"), "n/a");
  });

  it("list: words joined, `none` when empty", () => {
    assert.equal(list(["login", "checkout", "export"]), "login, checkout and export");
    assert.equal(list(["login"]), "login");
    assert.equal(list([]), "none");
    assert.equal(list(["a", "b"], " or "), "a or b");
  });

  it("works in templates, and validation knows them", () => {
    const out = renderTemplate("{{ d | duration }} · {{ r | percent: 1 }} · {{ l | list }}", {
      d: 61_000,
      r: 0.051,
      l: ["a", "b", "c"],
    });
    assert.equal(out, "1m 1s · 5.1% · a, b and c");
  });
});
