/** Placeholder until the postgres probe lands: measures nothing, answers error. */
import { guard } from "./shared.js";
import type { ProbeImplementation } from "./types.js";

export const postgresProbe: ProbeImplementation<"postgres"> = {
  type: "postgres",
  measure: (_spec, context) =>
    guard("postgres", context, async () => ({
      phase: "error",
      message: "postgres probe not implemented yet",
    })),
};
