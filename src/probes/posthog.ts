/** Placeholder until the posthog probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const posthogProbe: ProbeImplementation<"posthog"> = {
  type: "posthog",
  measure: (_spec, context) =>
    guard("posthog", context, async () => ({ phase: "error", message: "posthog probe not implemented yet" })),
};
