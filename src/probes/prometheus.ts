/** Placeholder until the prometheus probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const prometheusProbe: ProbeImplementation<"prometheus"> = {
  type: "prometheus",
  measure: (_spec, context) =>
    guard("prometheus", context, async () => ({
      phase: "error",
      message: "prometheus probe not implemented yet",
    })),
};
