/**
 * Deploy providers by name. `command` and `local-process` are built in; Vercel, Kubernetes and
 * Fly are driven through `command` for now (recipes in docs/providers.md), so createProvider
 * returns undefined for them. Each provider gets its memory (what serves, the last known good
 * version, the deploy entries) as `options.state`, the contract in src/store/provider-state-store.ts.
 */
import type * as z from "zod";
import type { Deploy } from "../runbook/schema/flow.js";
import { createCommandProvider } from "./command.js";
import { createLocalProcessProvider } from "./local-process.js";
import type { Provider, ProviderOptions } from "./types.js";

export type DeploySpec = z.output<typeof Deploy>;

export const SUPPORTED_PROVIDERS = ["command", "local-process"] as const;
export type SupportedProvider = (typeof SUPPORTED_PROVIDERS)[number];

export function createProvider(spec: DeploySpec, options: ProviderOptions): Provider | undefined {
  switch (spec.provider) {
    case "command":
      return createCommandProvider(spec, options);
    case "local-process":
      return createLocalProcessProvider(spec, options);
    default:
      return undefined;
  }
}

export type * from "../store/provider-state-store.js";
export type { CommandSpec } from "./command.js";
export type { LocalProcessSpec } from "./local-process.js";
export type * from "./types.js";
