/** provider: command, the team's own deploy, rollback, status, version and traffic-shift commands. */
import * as z from "zod";
import { Command } from "../common.js";
import { deployCommon } from "./common.js";

export const CommandDeploy = z.strictObject({
  provider: z.literal("command"),
  ...deployCommon,
  deploy: Command.meta({ description: "Deploys {{ release.version }}." }),
  rollback: Command.meta({ description: "Restores {{ release.previousVersion }}." }),
  status: Command.optional().meta({ description: "Exits 0 when the deployment is healthy." }),
  version: Command.optional().meta({ description: "Prints the version currently serving." }),
  shift: Command.optional().meta({
    description:
      "Canary: sends {{ canary.weight }} percent of traffic (0–100) to {{ release.version }}, the rest to {{ release.previousVersion }}. Needed for canary steps.",
  }),
});
