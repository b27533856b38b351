/**
 * Drift: the environment still has what the runbook expects. Every secret the runbook
 * declares for it resolves; every expected configuration key is in its inventory; and the
 * structure of its configuration (key paths and types, hashed) is the one last accepted,
 * kept in Gantry's store. Values are never read into output: secrets are only tested for
 * presence, keys are names, the structure holds no values.
 */

import type { Outcome } from "../probes/shared.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import type { ConfigStructure } from "../store/events.js";
import { readInventory, structureHash } from "./inventory.js";
import type { EnvironmentScope } from "./scope.js";

export type DriftSpec = NonNullable<Runbook["drift"]>;

/** Where accepted structures are kept (the event store, or a test's map). */
export interface StructureStore {
  configStructure(service: string, environment: string): Promise<ConfigStructure | undefined>;
  acceptConfigStructure(
    service: string,
    environment: string,
    structure: { hash: string; paths: string[] },
    by: string,
  ): Promise<void>;
}

export interface DriftOptions {
  service: string;
  store?: StructureStore;
  /** Record the current structure as the accepted one (`gantry check … drift --accept`). */
  accept?: { by: string };
  signal?: AbortSignal;
}

export async function runDrift(
  spec: DriftSpec,
  scope: EnvironmentScope,
  options: DriftOptions,
): Promise<Outcome> {
  const problems: string[] = [];
  const notes: string[] = [];
  const detail: Record<string, unknown> = {};
  if (spec.secrets) {
    const missing = Object.keys(scope.secrets.missing).sort();
    detail.secretsMissing = missing;
    if (missing.length > 0) {
      problems.push(
        `secrets not set: ${missing.map((n) => `${n} (${scope.secrets.missing[n]})`).join(", ")}`,
      );
    } else notes.push(`${Object.keys(scope.secrets.values).length} secrets set`);
  }
  if (spec.keys.length > 0 || spec.config) {
    const read = await readInventory(scope, options.signal);
    if (!read.ok) return { phase: "error", message: `drift cannot be measured: ${read.problem}`, detail };
    if (spec.keys.length > 0) {
      const present = new Set(read.inventory.keys ?? []);
      const missing = spec.keys.filter((k) => !present.has(k));
      detail.keysMissing = missing;
      if (read.inventory.keys === undefined) {
        return {
          phase: "error",
          message: `drift cannot be measured: environments.${scope.name}.inventory.keys is not set`,
          detail,
        };
      }
      if (missing.length > 0) problems.push(`keys missing: ${missing.join(", ")}`);
      else notes.push(`${spec.keys.length} expected keys present`);
    }
    if (spec.config) {
      const paths = read.inventory.config;
      if (!paths) {
        return {
          phase: "error",
          message: `drift cannot be measured: environments.${scope.name}.inventory.config is not set`,
          detail,
        };
      }
      if (!options.store)
        return {
          phase: "error",
          message: "drift cannot be measured: no store for the config structure",
          detail,
        };
      const hash = structureHash(paths);
      detail.configHash = hash;
      const known = await options.store.configStructure(options.service, scope.name);
      if (options.accept) {
        await options.store.acceptConfigStructure(
          options.service,
          scope.name,
          { hash, paths },
          options.accept.by,
        );
        notes.push(`config structure ${hash.slice(0, 12)} accepted by ${options.accept.by}`);
      } else if (!known) {
        await options.store.acceptConfigStructure(
          options.service,
          scope.name,
          { hash, paths },
          "first check",
        );
        notes.push(`config structure ${hash.slice(0, 12)} recorded (first check)`);
      } else if (known.hash !== hash) {
        const added = paths.filter((p) => !known.paths.includes(p));
        const removed = known.paths.filter((p) => !paths.includes(p));
        detail.configAdded = added;
        detail.configRemoved = removed;
        problems.push(
          `config structure changed since ${known.acceptedAt.slice(0, 16).replace("T", " ")} (accepted by ${known.acceptedBy}): ` +
            [added.length ? `added ${short(added)}` : "", removed.length ? `removed ${short(removed)}` : ""]
              .filter(Boolean)
              .join("; ") +
            " (accept it with: gantry check … drift --accept-drift)",
        );
      } else notes.push(`config structure unchanged (${hash.slice(0, 12)})`);
    }
  }
  if (problems.length > 0) {
    return {
      phase: "failed",
      value: problems.length,
      message: `drift in ${scope.name}: ${problems.join("; ")}`,
      detail,
    };
  }
  return {
    phase: "successful",
    value: 0,
    message: `no drift in ${scope.name}${notes.length ? `: ${notes.join(", ")}` : ""}`,
    detail,
  };
}

function short(paths: string[]): string {
  return paths.length > 4 ? `${paths.slice(0, 4).join(", ")} and ${paths.length - 4} more` : paths.join(", ");
}
