/**
 * The contract of a provider's memory: what serves one service in one environment, its last
 * known good version, and one entry per real deploy or rollback, keyed by the idempotency key
 * (so a replayed step can tell what already happened). Gantry keeps it in Postgres
 * (src/store/provider-state.ts), so every gantry process on the same database sees the same
 * truth; providers depend on this contract only.
 *
 * Every write is one transaction: a crash leaves either all of it or none of it.
 */

/** shift: a canary's share of traffic moved (or the canary promoted). */
export type DeployAction = "deploy" | "rollback" | "shift";
/** in-progress: started, not finished yet (or Gantry stopped meanwhile); interrupted: superseded by a retry. */
export type DeployOutcome = "in-progress" | "ok" | "failed" | "interrupted";

export interface DeployEntry {
  key: string;
  version: string;
  action: DeployAction;
  /** ISO time. */
  startedAt: string;
  result: DeployOutcome;
  finishedAt?: string;
  /** One line: what happened. */
  message?: string;
  /** The version serving when this entry started, when known. */
  previousVersion?: string;
}

export type NewDeployEntry = Pick<DeployEntry, "key" | "version" | "action" | "previousVersion">;

export interface DeployState {
  /** The version serving, as the provider last recorded it. */
  current?: string;
  /** The last version that completed a release: the rollback target. */
  lastKnownGood?: string;
  /** The latest entry, of any key. */
  latest?: DeployEntry;
  /** When `current` or `lastKnownGood` last changed (ISO). */
  updatedAt?: string;
}

/**
 * What serves after a write: a version, `null` for nothing, or `undefined` to leave the
 * record as it is.
 */
export type Serving = string | null | undefined;

/** One service in one environment. */
export interface ProviderStateStore {
  /** Where this state lives, for messages: "Postgres (gantry.deployments, shop/production)". */
  readonly where: string;
  read(): Promise<DeployState>;
  /** The latest entry recorded for `key`. */
  entry(key: string): Promise<DeployEntry | undefined>;
  /** The latest `limit` entries, oldest first. */
  entries(limit?: number): Promise<DeployEntry[]>;
  /**
   * Records the start of a real deploy or rollback (result in-progress) and, in the same
   * transaction, marks earlier in-progress entries of the same key interrupted and sets what
   * serves.
   */
  begin(entry: NewDeployEntry, serving?: Serving): Promise<void>;
  /** Records the end of the latest entry for `key`, and what serves, in one transaction. */
  finish(key: string, result: "ok" | "failed", message: string, serving?: Serving): Promise<void>;
  /** Records what serves (`null`: nothing). */
  setCurrent(serving: string | null): Promise<void>;
  lastKnownGood(): Promise<string | undefined>;
  /** Records that `version` completed a release: it becomes the last known good. */
  markGood(version: string): Promise<void>;
  /**
   * What the provider needs to serve `version` again (a Vercel deployment id, the images of
   * each Kubernetes Deployment), as it recorded it; never a secret.
   */
  details(version: string): Promise<Record<string, unknown> | undefined>;
  setDetails(version: string, details: Record<string, unknown>): Promise<void>;
}
