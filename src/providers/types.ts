/**
 * The deploy provider contract. A provider deploys one version, rolls back to another,
 * reports what is serving, and whether it is healthy. Every method is idempotent for the
 * same `key`: calling deploy twice with one key deploys once, so a replayed durable step
 * never deploys twice.
 */
import type { ProviderStateStore } from "../store/provider-state-store.js";

export interface DeployRequest {
  /** The version to serve, e.g. 1.4.2. */
  version: string;
  /** Idempotency key, stable across replays of the same step: `<run>:deploy`. */
  key: string;
  /** Give up after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Canary (providers with `canary` only): the share of traffic, above 0 and below 1, the new
   * version starts with, beside the version serving, which keeps the rest. Absent: the new
   * version replaces the serving one.
   */
  weight?: number;
}

export interface DeployResult {
  ok: boolean;
  /**
   * Whether this call, or an earlier one with the same key, changed anything: ran the deploy
   * command, stopped the version that served, or started a process. False only when certainly
   * nothing was touched (the port was taken by another program, the command could not be
   * started or was not found): what served before still serves, and there is nothing to roll
   * back. Always true when `ok`.
   */
  started: boolean;
  /** The version serving after the call. */
  version?: string;
  /** The version serving before, when known. */
  previousVersion?: string;
  /** What happened, in one line: "started v2 (pid 4242) on 127.0.0.1:18080, healthy after 412 ms". */
  message: string;
  /** True when the key had been seen before and nothing was done again. */
  replayed?: boolean;
  /** Output lines, already redacted. */
  output?: string[];
}

export interface ProviderStatus {
  /** The version serving now, when the provider can tell. */
  version?: string;
  healthy: boolean;
  message: string;
}

/** A move of a canary's share of traffic. */
export interface ShiftRequest {
  /** The canary's version (the one deployed with `weight`). */
  version: string;
  /** The share of traffic on it after the call: above 0, up to 1. 1 promotes it: it takes all traffic and the stable version retires. */
  weight: number;
  /** Idempotency key, stable across replays: `<run>:canary:<step>`. */
  key: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ShiftResult {
  ok: boolean;
  /** The share on the canary after the call, as the platform routes it (a replica ratio may round). */
  weight: number;
  /** One line: "api-canary 1/10 replicas (10%), stable 9/10". */
  message: string;
  /** True when the key had been seen and nothing was done again. */
  replayed?: boolean;
  output?: string[];
}

/** Base URLs that reach one version alone, for analysis that compares the canary with the stable version. */
export interface CanaryTargets {
  canary?: string;
  stable?: string;
}

/**
 * Traffic shifting. A provider that has it starts a canary with `deploy({ weight })`, moves
 * its share with `shift`, promotes it with `shift({ weight: 1 })`. Its `rollback` to the
 * stable version sends all traffic back there and removes the canary.
 */
export interface Canary {
  shift(request: ShiftRequest): Promise<ShiftResult>;
  /** Where the canary and the stable version can be reached alone, when the provider can tell. */
  targets?(): Promise<CanaryTargets>;
}

export interface Provider {
  readonly name: string;
  /** Present when the provider can split traffic between two versions. */
  readonly canary?: Canary;
  /** The version serving now and whether it is healthy. */
  status(signal?: AbortSignal): Promise<ProviderStatus>;
  /** The last version that completed a release here: the rollback target. */
  lastKnownGood(): Promise<string | undefined>;
  deploy(request: DeployRequest): Promise<DeployResult>;
  /** Restore `request.version` (the last known good one). */
  rollback(request: DeployRequest): Promise<DeployResult>;
  /** Record that `version` completed a release: it becomes the last known good. */
  markGood(version: string): Promise<void>;
  /** Stop what this provider started on this machine (local-process); a no-op elsewhere. */
  stop(): Promise<void>;
}

export interface ProviderOptions {
  /**
   * The provider's memory for this service and environment (what serves, the last known good
   * version, one entry per deploy or rollback): Postgres, shared by every gantry process on
   * the database.
   */
  state: ProviderStateStore;
  /**
   * A folder on this machine, one per service and environment (created when missing), for what
   * only makes sense here: local-process's process record and logs, the command provider's
   * running attempts. Never the truth about what serves.
   */
  localDir: string;
  /** The runbook's folder: commands run here. */
  cwd: string;
  /** Fills a command template for one version: {{ release.version }}, {{ release.previousVersion }}, {{ canary.weight }} (percent, from `weight`) and the other known values. */
  render: (
    template: string,
    values: { version: string; previousVersion?: string; weight?: number },
  ) => string;
  /** Extra environment for commands (resolved secrets among them). */
  env?: Record<string, string>;
  /**
   * Fills a field that is not a command (an alias, an image, a folder) with the same values as
   * `render`, as plain text: nothing quoted. Throws a message naming the field.
   */
  text: (template: string, values: { version: string; previousVersion?: string }) => string;
  /**
   * The value of a secret-bearing field (a token): a reference (env:NAME, file:PATH) resolved
   * and remembered for redaction, a literal as written. Throws a message naming `where`.
   */
  field: (value: string, where: string) => string;
  /** Removes secret values from a line before it is kept or shown. */
  redact: (line: string) => string;
  /** Receives every output line, already redacted. */
  onLine?: (line: string) => void;
}
