/** Placeholder until the tls probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const tlsProbe: ProbeImplementation<"tls"> = {
  type: "tls",
  measure: (_spec, context) =>
    guard("tls", context, async () => ({ phase: "error", message: "tls probe not implemented yet" })),
};
