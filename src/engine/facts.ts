/**
 * The run's facts as step results carry them. Captured values are sealed (encrypted) before a
 * result is recorded in the database and opened again when the result is read back, so the
 * database never holds them in clear.
 */
import type { Sealer } from "../secrets/seal.js";
import type { FactsPatch, RunFacts, StepResult } from "../steps/contract.js";

/** A StepResult as recorded: captures sealed. */
export type RecordedResult = Omit<StepResult, "facts"> & { facts?: RecordedFacts; control?: boolean };
export type RecordedFacts = Omit<FactsPatch, "captures"> & { sealedCaptures?: string };

export function emptyFacts(): RunFacts {
  return { deployed: false, captures: {}, baselines: {}, expandApplied: [], contractDone: false };
}

/** Applies a step's facts: captures and baselines merged key by key, the rest replaced. */
export function mergeFacts(facts: RunFacts, patch: FactsPatch | undefined): void {
  if (!patch) return;
  const { captures, baselines, ...rest } = patch;
  Object.assign(facts, rest);
  if (captures) Object.assign(facts.captures, captures);
  if (baselines) Object.assign(facts.baselines, baselines);
}

export function toRecord(r: StepResult, sealer: Sealer): RecordedResult {
  const { facts, ...rest } = r;
  if (!facts) return rest;
  const { captures, ...plain } = facts;
  const sealed =
    captures && Object.keys(captures).length > 0 ? { sealedCaptures: sealer.seal(captures) } : {};
  return { ...rest, facts: { ...plain, ...sealed } };
}

export function fromRecord(r: RecordedResult, sealer: Sealer): StepResult & { control?: boolean } {
  const { facts, ...rest } = r;
  if (!facts) return rest;
  const { sealedCaptures, ...plain } = facts;
  return {
    ...rest,
    facts: {
      ...plain,
      ...(sealedCaptures ? { captures: sealer.unseal(sealedCaptures) as Record<string, unknown> } : {}),
    },
  };
}

/** Masks every string of a value (an event's data: step results, measurements, details). */
export function maskDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, redact));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, redact)]));
  }
  return value;
}
