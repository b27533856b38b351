/**
 * The deploy provider registry: each provider is one module beside this file, registered here
 * with what it can do. Everything else learns the providers from here: the engine creates
 * them, `gantry plan` and `gantry release` say what a runbook's deploy section cannot do
 * (src/app/capabilities.ts), and the shared conformance suite (conformance.test.ts) runs on
 * every registered provider, so a new one cannot skip it. Each provider gets its memory (what
 * serves, the last known good version, the deploy entries, a version's details) as
 * `options.state`, the contract in src/store/provider-state-store.ts.
 */
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import { createCommandProvider } from "./command.js";
import { createFlyProvider } from "./fly.js";
import { createKubernetesProvider } from "./kubernetes.js";
import { createLocalProcessProvider } from "./local-process.js";
import type { Provider, ProviderOptions } from "./types.js";
import { createVercelProvider } from "./vercel.js";

export type DeploySpec = z.output<typeof Deploy>;
type SpecOf<N extends DeploySpec["provider"]> = Extract<DeploySpec, { provider: N }>;

export interface ProviderEntry<N extends DeploySpec["provider"] = DeploySpec["provider"]> {
  create(spec: SpecOf<N>, options: ProviderOptions): Provider;
  /** Why this spec cannot run canary steps, or undefined when it can. */
  canaryProblem(spec: SpecOf<N>): string | undefined;
}

const PROVIDERS: { readonly [N in DeploySpec["provider"]]?: ProviderEntry<N> } = {
  command: {
    create: createCommandProvider,
    canaryProblem: (spec) =>
      spec.shift ? undefined : "add a `shift` command that sends {{ canary.weight }} percent of traffic",
  },
  "local-process": {
    create: createLocalProcessProvider,
    canaryProblem: () => undefined,
  },
  vercel: {
    create: createVercelProvider,
    canaryProblem: () =>
      "Vercel's REST API has no weighted traffic split for an alias (Rolling Releases move the project's production domains through stages fixed before the release starts, with no documented abort); use provider command with a `shift` command, or no canary steps",
  },
  fly: { create: createFlyProvider, canaryProblem: () => undefined },
  // A canary by replica ratio needs nothing more; deploy.traffic is for a router.
  kubernetes: { create: createKubernetesProvider, canaryProblem: () => undefined },
};

/** The providers this version can execute, by name. */
export const SUPPORTED_PROVIDERS = Object.keys(PROVIDERS) as DeploySpec["provider"][];

export function providerEntry(name: string): ProviderEntry | undefined {
  return Object.hasOwn(PROVIDERS, name)
    ? (PROVIDERS[name as DeploySpec["provider"]] as ProviderEntry | undefined)
    : undefined;
}

export function createProvider(spec: DeploySpec, options: ProviderOptions): Provider | undefined {
  return providerEntry(spec.provider)?.create(spec as never, options);
}

/** Why `spec`'s canary steps cannot run (its provider cannot shift traffic), or undefined. */
export function canaryProblem(spec: DeploySpec): string | undefined {
  if (spec.canary.length === 0) return undefined;
  const entry = providerEntry(spec.provider);
  return entry ? entry.canaryProblem(spec as never) : undefined;
}

export type * from "../store/provider-state-store.js";
export type { CommandSpec } from "./command.js";
export type { LocalProcessSpec } from "./local-process.js";
export type * from "./types.js";
