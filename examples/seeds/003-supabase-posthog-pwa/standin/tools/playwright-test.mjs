/**
 * The part of `@playwright/test` the seed's specs use, for the stand-in's runner
 * (playwright.mjs): `test(name, fn)` registers a test whose fixtures are `page`, `context` and
 * `baseURL`; `expect(value)` has the matchers below, and `expect(locator).toBeVisible()`.
 */
import assert from "node:assert/strict";

export const registered = [];

export function test(name, fn) {
  registered.push({ name, fn });
}

export function expect(actual) {
  return {
    toBe: (expected) => assert.equal(actual, expected),
    toEqual: (expected) => assert.deepEqual(actual, expected),
    toContain: (item) =>
      assert.ok(
        actual.includes(item),
        `expected ${JSON.stringify(actual)} to contain ${JSON.stringify(item)}`,
      ),
    toMatch: (re) => assert.match(actual, re),
    toBeTruthy: () => assert.ok(actual),
    /** A locator: visible within 5s, as Playwright's web-first assertion waits. */
    toBeVisible: () => actual.waitFor({ state: "visible", timeout: 5000 }),
  };
}
