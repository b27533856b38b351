/** Where a probe is sent: an http probe of the environment's URL, at another origin. */
import type { Probe } from "../runbook/schema/probes.js";

/**
 * An http probe of the environment's own URL sent to `origin` instead (a canary or the stable
 * version alone); any other probe as it is.
 */
export function atOrigin(probe: Probe, envUrl: string | undefined, origin: string): Probe {
  if (probe.type !== "http" || !envUrl) return probe;
  try {
    const from = new URL(envUrl).origin;
    const url = new URL(probe.url);
    if (url.origin !== from) return probe;
    return { ...probe, url: `${origin}${url.pathname}${url.search}` };
  } catch {
    return probe;
  }
}
