/**
 * The shared probe conformance suite's contract. Every probe type has a file
 * `src/probes/<type>.conformance.ts` that exports `conformance: ConformanceCase`: it starts
 * the real thing the probe measures (an HTTP server, embedded Postgres, redis-server,
 * Prometheus, a TLS server, a DNS server…) and gives the specs the suite measures.
 * `conformance.test.ts` finds those files and runs the same checks on each: the probe never
 * throws, stamps its result, tells `failed` (measured, condition false) from `error` (could
 * not measure), honours its timeout and cancellation, and lets no secret through.
 */
import { Probe } from "../runbook/schema/probes.js";
import type { ProbeContext } from "./types.js";

/** The timeout conformance specs use, so a hanging target ends quickly. */
export const CONFORMANCE_TIMEOUT = "300ms";

export interface ConformanceTargets {
  /** Measures a healthy target: `successful`. */
  healthy: Probe;
  /** Reaches its target and measures it, but the expectation does not hold: `failed`. */
  failing: Probe;
  /** Nothing answers there (a closed port): `error`. */
  unreachable: Probe;
  /**
   * A target that accepts and never answers, with timeout CONFORMANCE_TIMEOUT: `error`,
   * "timed out after 300ms". (For the command probe: a command that sleeps.)
   */
  hanging: Probe;
  /**
   * A spec whose measurement would show `value` unless redacted: the secret is in the spec
   * and the target echoes it back, or the probe puts it in its message.
   */
  secret: { spec: Probe; value: string };
  /** More specs that must be `error`, never a pass: garbage answers, bad addresses. */
  errors?: Array<{ what: string; spec: Probe }>;
  /** The context every measurement gets (an environment's sources, the deploy time). */
  context?: ProbeContext;
}

export interface ConformanceCase {
  type: Probe["type"];
  /** Starts what the probe measures and returns the specs; `cleanup` registers what to stop at the end. */
  setup(cleanup: (stop: () => unknown) => void): Promise<ConformanceTargets>;
}

/** Parses a spec through the schema, as a runbook would: defaults filled in, durations read. */
export function spec(input: Record<string, unknown>): Probe {
  return Probe.parse({ timeout: CONFORMANCE_TIMEOUT, ...input });
}
