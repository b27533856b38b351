/** Placeholder until the tcp probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const tcpProbe: ProbeImplementation<"tcp"> = {
  type: "tcp",
  measure: (_spec, context) =>
    guard("tcp", context, async () => ({ phase: "error", message: "tcp probe not implemented yet" })),
};
