/** Placeholder until the dns probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const dnsProbe: ProbeImplementation<"dns"> = {
  type: "dns",
  measure: (_spec, context) =>
    guard("dns", context, async () => ({ phase: "error", message: "dns probe not implemented yet" })),
};
