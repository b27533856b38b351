/**
 * What a provider brings to the shared conformance suite (conformance.test.ts): a file
 * `<provider>.conformance.ts` beside it exporting `conformance`, which starts the platform the
 * provider drives (a local stand-in of the vendor's API, scripts, a port) and says how each
 * variant is written and how its failures read. The suite finds these files itself and fails
 * when a registered provider has none.
 */

/**
 * normal: works; hang: the deploy never finishes; unhealthy: the new version never becomes
 * healthy; refused: the deploy cannot start (a command that does not exist, a token the
 * platform refuses).
 */
export type Variant = "normal" | "hang" | "unhealthy" | "refused";

export interface ProviderWorld {
  /**
   * The deploy section for `variant`, as a runbook writes it (the suite parses it with the
   * Deploy schema), for the service whose local folder is `stateDir`. Normal variants get a
   * 5 s timeout, the others 1 s.
   */
  spec(variant: Variant, stateDir: string): Promise<Record<string, unknown>>;
  /** Environment for the provider's commands and secret references, per service. */
  env?(stateDir: string): Record<string, string>;
  expect: {
    hang: RegExp;
    unhealthy: RegExp;
    /** How the refused variant reads; whether it changed what serves; a line its output must carry. */
    refused: { message: RegExp; started: boolean; output?: string };
  };
  /** The version the platform serves for the service, asked of the platform, not the provider. */
  serving?(stateDir: string): Promise<string | undefined>;
  /** How many deploys and rollbacks the platform carried out for the service. */
  operations?(stateDir: string): Promise<number>;
  /** The next deploy or rollback takes this much longer on the platform (crash tests kill meanwhile). */
  delay?(ms: number): void;
  /** The share of traffic (0–1) the platform sends to `version` of the service (canary providers). */
  share?(stateDir: string, version: string): Promise<number>;
  /** The share a canary step of `weight` may end up at, as the platform rounds it (default: exact). */
  rounds?(weight: number): number;
}

export interface ProviderCase {
  /** The provider's registered name; the file is `<name>.conformance.ts`. */
  provider: string;
  setup(cleanup: (stop: () => unknown) => void): Promise<ProviderWorld>;
}
