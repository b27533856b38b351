/** Placeholder until the command probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const commandProbe: ProbeImplementation<"command"> = {
  type: "command",
  measure: (_spec, context) =>
    guard("command", context, async () => ({ phase: "error", message: "command probe not implemented yet" })),
};
