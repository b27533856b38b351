/**
 * Runs named checks against one environment outside a release (`gantry check`): the
 * runbook's `checks`, plus `parity` and `drift`. Each result is a measurement with the
 * threshold it was judged against, so a table can show value, threshold, phase and reason.
 */
import { measure } from "../probes/index.js";
import { guard } from "../probes/shared.js";
import type { Measurement } from "../probes/types.js";
import type { Probe } from "../runbook/schema/probes.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { runDrift, type StructureStore } from "./drift.js";
import { runParity } from "./parity.js";
import { environmentScope, renderProbe } from "./scope.js";

export interface CheckResult {
  name: string;
  /** The probe type, or `parity` / `drift`. */
  type: string;
  threshold: string;
  measurement: Measurement;
}

export interface CheckOptions {
  file: string;
  store?: StructureStore;
  /** Accept the current config structure as the known one (drift). */
  accept?: { by: string };
  signal?: AbortSignal;
}

/**
 * The checks `gantry check` runs when none are named: the environment's `validate` list, or
 * else every check of the runbook, with parity and drift when the runbook declares them.
 */
export function defaultChecks(runbook: Runbook, envName: string): string[] {
  const env = runbook.environments[envName]!;
  if (env.validate.length > 0) return [...env.validate];
  const names = Object.keys(runbook.checks);
  if (runbook.parity && runbook.parity.with !== envName) names.push("parity");
  if (runbook.drift) names.push("drift");
  return names;
}

/** Names that are neither checks nor parity/drift (the latter only when declared). */
export function unknownChecks(runbook: Runbook, names: string[]): string[] {
  return names.filter(
    (n) =>
      !Object.hasOwn(runbook.checks, n) &&
      !(n === "parity" && runbook.parity) &&
      !(n === "drift" && runbook.drift),
  );
}

/** Runs the named checks at once and returns their results in the order named. Never throws. */
export async function runChecks(
  runbook: Runbook,
  envName: string,
  names: string[],
  options: CheckOptions,
): Promise<CheckResult[]> {
  const scope = environmentScope(runbook, envName, options.file);
  const context = {
    redact: scope.secrets.redact,
    dir: scope.dir,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return Promise.all(
    names.map(async (name): Promise<CheckResult> => {
      if (name === "parity" && runbook.parity) {
        const spec = runbook.parity;
        const other = environmentScope(runbook, spec.with, options.file);
        const redact = (t: string) => other.secrets.redact(scope.secrets.redact(t));
        const measurement = await guard("parity", { redact }, async () => {
          const { parity: _, ...outcome } = await runParity(spec, scope, other, options.signal);
          return outcome;
        });
        return {
          name,
          type: "parity",
          threshold: `go ≥ ${pct(spec.go)}, no-go < ${pct(spec.noGo)}`,
          measurement,
        };
      }
      if (name === "drift" && runbook.drift) {
        const spec = runbook.drift;
        const measurement = await guard("drift", context, () =>
          runDrift(spec, scope, {
            service: runbook.metadata.service,
            ...(options.store ? { store: options.store } : {}),
            ...(options.accept ? { accept: options.accept } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          }),
        );
        return { name, type: "drift", threshold: "no drift", measurement };
      }
      const spec = runbook.checks[name]!;
      const measurement = await guard(spec.type, context, async () => {
        const rendered = renderProbe(
          spec,
          (v) => scope.renderDeep(v, `checks.${name}`),
          (c) => scope.renderShell(c, `checks.${name}.run`),
        );
        const env = scope.probeEnvironment(rendered);
        const { startedAt: _s, finishedAt: _f, ...outcome } = await measure(rendered, { ...context, env });
        return outcome;
      });
      return { name, type: spec.type, threshold: thresholdOf(spec), measurement };
    }),
  );
}

/** The threshold a probe is judged against, as a person reads it. */
export function thresholdOf(spec: Probe): string {
  if ("expect" in spec && spec.expect && typeof spec.expect === "object" && "text" in spec.expect) {
    return String(spec.expect.text);
  }
  switch (spec.type) {
    case "http": {
      const statuses = Array.isArray(spec.expect.status) ? spec.expect.status : [spec.expect.status];
      const body = spec.expect.body.length > 0 ? ` + ${spec.expect.body.length} body assertion(s)` : "";
      const budget = spec.budget?.p95 ? `, p95 ≤ ${spec.budget.p95.text}` : "";
      return `status ${statuses.join("|")}${body}${budget}`;
    }
    case "tls":
      return `≥ ${spec.minDays} days, ${spec.protocols.join("|")}`;
    case "dns":
      return spec.expect?.length ? `has ${spec.expect.join(", ")}` : "resolves";
    case "tcp":
      return "accepts connections";
    case "postgres":
      return spec.measure === "pool-usage"
        ? "< 80%"
        : spec.measure === "blocking-queries"
          ? "== 0"
          : spec.measure;
    case "redis":
      return spec.measure === "policy"
        ? "== noeviction"
        : spec.measure === "persistence"
          ? "== true"
          : spec.measure === "ping"
            ? "answers"
            : "—";
    case "command":
      return spec.parse === "exit" ? "exit 0" : "—";
    default:
      return "—";
  }
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
