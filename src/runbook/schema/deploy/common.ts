/** What every deploy provider's section has: a description, a timeout and the canary steps. */
import * as z from "zod";
import { Description, Duration, Percent, Span } from "../common.js";

export const CanaryStep = z
  .strictObject({
    weight: Percent.meta({ description: "Share of traffic on the new version, e.g. 10%." }),
    hold: Span.optional().meta({
      description: "Watch this long (monitoring rules sample meanwhile) before the next step.",
    }),
    checks: z.array(z.string()).default([]).meta({
      description:
        "Named checks measured at the end of the hold, against the canary (and the stable version as a baseline) where the provider can reach each alone.",
    }),
  })
  .meta({ description: "One canary step: shift traffic to `weight`, then watch for `hold`." });

export const deployCommon = {
  description: Description.optional(),
  timeout: Duration.prefault("15m").meta({ description: "Give up on the deploy after this long." }),
  canary: z
    .array(CanaryStep)
    .default([])
    .meta({ description: "Canary steps, ending at 100%; empty means all at once." }),
};
