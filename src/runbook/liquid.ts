/**
 * The Liquid engines Gantry renders with, and what one template may cost. Shared by template
 * checking and rendering (template.ts) and command rendering (command-template.ts).
 */
import { Liquid } from "liquidjs";
import { registerFilters } from "./filters.js";

/**
 * What one template may cost, the same at `validate`, `plan` and run time: its length, the
 * time to render it, what it may allocate (a range, a join, a loop: Liquid's own memory
 * accounting) and the size of what it renders. Past a limit the template is an error with its
 * position; at run time its step fails with that error and the process lives on.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of one template. */
  parseChars: 100_000,
  /** Milliseconds to render one template. */
  renderMs: 1000,
  /** Liquid's allocation units (roughly characters and array items) for one render. */
  memory: 10_000_000,
  /** Characters one template may render to. */
  outputChars: 1_000_000,
} as const;

const LIMITS = {
  parseLimit: TEMPLATE_LIMITS.parseChars,
  renderLimit: TEMPLATE_LIMITS.renderMs,
  memoryLimit: TEMPLATE_LIMITS.memory,
};

const engines = new Map<string, Liquid>();
/**
 * Created on first use: most runbooks never need it at validation time, and it costs ~30 ms
 * to build. `{% include %}` (message templates) reads from `root`, the runbook's folder, and
 * never outside it; without a root, includes are refused.
 */
export function engine(root?: string): Liquid {
  const key = root ?? "";
  let liquid = engines.get(key);
  if (!liquid) {
    liquid = new Liquid({
      strictFilters: true,
      ...LIMITS,
      ...(root
        ? { root: [root], partials: [root], layouts: [root], relativeReference: false }
        : { templates: {} }),
    });
    registerFilters(liquid);
    engines.set(key, liquid);
  }
  return liquid;
}

export function overOutput(n: number): string {
  return `template renders ${n} characters, over the limit of ${TEMPLATE_LIMITS.outputChars}`;
}

export function limitMessage(message: string): string {
  return message
    .replace(
      /^memory alloc limit exceeded/,
      `it allocates more than ${TEMPLATE_LIMITS.memory} units (a range, join or loop too large)`,
    )
    .replace(
      /^template render limit exceeded/,
      `it takes longer than ${TEMPLATE_LIMITS.renderMs} ms to render`,
    )
    .replace(/^template parse limit exceeded/, `it is longer than ${TEMPLATE_LIMITS.parseChars} characters`)
    .replace(/, line:(\d+), col:(\d+)$/, " (line $1, column $2 of the template)");
}

/** Why rendering failed, in words: a limit says which, with its position in the template. */
export function renderError(e: unknown): Error {
  const message = (e as Error).message ?? String(e);
  return new Error(
    /limit exceeded/.test(message) ? `template is over its limits: ${limitMessage(message)}` : message,
  );
}
