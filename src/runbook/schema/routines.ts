/** Routines: checks that run on a schedule outside any release, and who is told when they fail. */
import * as z from "zod";
import { Name } from "./common.js";

export const RoutineAlert = z
  .strictObject({
    to: z.array(Name).min(1).meta({ description: "Channels (notify.channels.<name>) told when it fails." }),
    template: Name.optional().meta({
      description:
        "A message template (notify.templates.<name>) with {{ routine.* }} and {{ reason }}. Default: a text naming each failed check and why.",
    }),
    onRecovery: z.boolean().default(false).meta({
      description: "Also say so when the routine passes again after a failed run.",
    }),
  })
  .meta({ description: "Where a failed run is told: once per occurrence and channel." });

export const Routine = z
  .strictObject({
    name: Name.meta({ description: "The routine's name: `gantry routines run FILE NAME`." }),
    description: z.string().optional(),
    env: Name.meta({ description: "The environment checked (environments.<name>)." }),
    checks: z.array(Name).min(1).meta({
      description: "What to run, as `gantry check` takes it: check names (checks.<name>), parity, drift.",
    }),
    cron: z.string().min(1).meta({
      description:
        "When it runs: a cron expression, `minute hour day-of-month month day-of-week` (e.g. `0 9 * * *`, daily at 09:00; `0 8 * * mon`, Mondays at 08:00), or with a leading seconds field (six fields).",
    }),
    timezone: z.string().default("UTC").meta({
      description: "IANA time zone the cron expression is read in, e.g. America/New_York.",
    }),
    alert: RoutineAlert.optional(),
  })
  .meta({
    description:
      "Checks run on a schedule by `gantry worker --routines FILE`, each result recorded; a failure is told through channels.",
  });

export type RoutineSpec = z.output<typeof Routine>;
