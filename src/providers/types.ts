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

export interface Provider {
  readonly name: string;
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
  /** Fills a command template for one version: {{ release.version }}, {{ release.previousVersion }} and the other known values. */
  render: (template: string, values: { version: string; previousVersion?: string }) => string;
  /** Extra environment for commands (resolved secrets among them). */
  env?: Record<string, string>;
  /** Removes secret values from a line before it is kept or shown. */
  redact: (line: string) => string;
  /** Receives every output line, already redacted. */
  onLine?: (line: string) => void;
}
