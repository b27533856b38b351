// Types of the stand-in's `@playwright/test` (playwright-test.mjs), for `npm run typecheck`:
// only what the seed's specs use, so the check does not read all of playwright-core's types.
export interface Locator {
  waitFor(options?: { state?: "visible" | "attached"; timeout?: number }): Promise<void>;
}

export interface Page {
  goto(url: string): Promise<unknown>;
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
  getByTestId(id: string): Locator;
  title(): Promise<string>;
}

export interface BrowserContext {
  setOffline(offline: boolean): Promise<void>;
}

export interface Fixtures {
  page: Page;
  context: BrowserContext;
  baseURL: string;
}

export function test(name: string, fn: (fixtures: Fixtures) => Promise<void>): void;

export function expect<T>(actual: T): {
  toBe(expected: T): void;
  toEqual(expected: T): void;
  toContain(item: unknown): void;
  toMatch(re: RegExp): void;
  toBeTruthy(): void;
  toBeVisible(): Promise<void>;
};
