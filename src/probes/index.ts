/**
 * The probe registry: which probe types this version can measure, and `measure`, the one
 * entry point the engine calls. It never throws: a type without an implementation, or an
 * implementation that breaks its contract by throwing, answers phase `error`.
 */
import { PROBE_TYPES, type Probe } from "../runbook/schema/probes.js";
import { commandProbe } from "./command.js";
import { dnsProbe } from "./dns.js";
import { httpProbe } from "./http.js";
import { metricsProbe } from "./metrics.js";
import { postgresProbe } from "./postgres.js";
import { posthogProbe } from "./posthog.js";
import { prometheusProbe } from "./prometheus.js";
import { redisProbe } from "./redis.js";
import { sentryProbe } from "./sentry.js";
import { errorText, oneLine } from "./shared.js";
import { tcpProbe } from "./tcp.js";
import { tlsProbe } from "./tls.js";
import type { Measurement, ProbeContext, ProbeImplementation } from "./types.js";

type ProbeType = Probe["type"];

const REGISTRY: { [T in ProbeType]?: ProbeImplementation<T> } = {
  http: httpProbe,
  tls: tlsProbe,
  dns: dnsProbe,
  tcp: tcpProbe,
  postgres: postgresProbe,
  redis: redisProbe,
  prometheus: prometheusProbe,
  metrics: metricsProbe,
  command: commandProbe,
  sentry: sentryProbe,
  posthog: posthogProbe,
};

/** Probe types with an implementation, in the order the schema lists them. */
export const SUPPORTED_PROBE_TYPES: readonly ProbeType[] = PROBE_TYPES.filter((t) =>
  Object.hasOwn(REGISTRY, t),
);

/** The implementation of a probe type, or undefined when this version has none. */
export function probeFor<T extends ProbeType>(type: T): ProbeImplementation<T> | undefined {
  return Object.hasOwn(REGISTRY, type) ? (REGISTRY[type] as ProbeImplementation<T>) : undefined;
}

/** Measures a resolved probe spec. Never throws. */
export async function measure(spec: Probe, context: ProbeContext = {}): Promise<Measurement> {
  const started = Date.now();
  const type = String((spec as { type?: unknown } | null | undefined)?.type);
  const implementation = probeFor(type as ProbeType) as ProbeImplementation | undefined;
  let problem = `probe type ${type} is not supported by this version`;
  if (implementation) {
    try {
      return await implementation.measure(spec, context);
    } catch (err) {
      problem = `${type} probe failed unexpectedly: ${errorText(err)}`;
    }
  }
  return {
    phase: "error",
    message: oneLine(problem),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(Math.max(Date.now(), started)).toISOString(),
  };
}
