/**
 * Runbook fixtures. `valid-*.yaml` must validate without errors. Each `invalid-*.yaml` states
 * every diagnostic it must produce, exactly, in comment lines at its top:
 *   # expect: error 12:5 gates[0].timeout: bad duration `5 min`: …
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadRunbook } from "../src/runbook/load.js";
import { FIXTURES } from "./helpers/paths.js";

const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"));

function expectations(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("# expect: "))
    .map((l) => l.slice("# expect: ".length));
}

describe("valid fixtures", () => {
  for (const name of files.filter((f) => f.startsWith("valid-"))) {
    it(name, () => {
      const result = loadRunbook(FIXTURES + name);
      const errors = result.diagnostics.filter((d) => d.severity === "error");
      assert.deepEqual(errors, [], `${name} should be valid`);
      assert.ok(result.runbook);
      const expected = expectations(readFileSync(FIXTURES + name, "utf8"));
      const warnings = result.diagnostics.map(
        (d) => `${d.severity} ${d.line}:${d.col} ${d.path}: ${d.message}`,
      );
      assert.deepEqual(warnings, expected);
    });
  }
});

describe("invalid fixtures", () => {
  const invalid = files.filter((f) => f.startsWith("invalid-"));
  it("exist", () => assert.ok(invalid.length >= 20, `only ${invalid.length} invalid fixtures`));
  for (const name of invalid) {
    it(name, () => {
      const expected = expectations(readFileSync(FIXTURES + name, "utf8"));
      assert.ok(expected.length > 0, `${name} has no '# expect:' line`);
      const result = loadRunbook(FIXTURES + name);
      assert.equal(result.runbook, undefined, `${name} should be invalid`);
      const actual = result.diagnostics.map(
        (d) => `${d.severity} ${d.line}:${d.col} ${d.path}: ${d.message}`,
      );
      assert.deepEqual(actual, expected);
    });
  }
});
