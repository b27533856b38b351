/** Placeholder until the sentry probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const sentryProbe: ProbeImplementation<"sentry"> = {
  type: "sentry",
  measure: (_spec, context) =>
    guard("sentry", context, async () => ({ phase: "error", message: "sentry probe not implemented yet" })),
};
