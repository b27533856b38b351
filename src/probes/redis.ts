/** Placeholder until the redis probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const redisProbe: ProbeImplementation<"redis"> = {
  type: "redis",
  measure: (_spec, context) =>
    guard("redis", context, async () => ({ phase: "error", message: "redis probe not implemented yet" })),
};
