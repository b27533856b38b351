/** provider: local-process, one version of the service as a process on a loopback port. */
import * as z from "zod";
import { Command } from "../common.js";
import { deployCommon } from "./common.js";

export const LocalProcessDeploy = z.strictObject({
  provider: z.literal("local-process"),
  ...deployCommon,
  start: Command.meta({
    description: "Starts one version of the service; {{ release.version }} and PORT are set.",
  }),
  port: z.number().int().min(1).max(65535),
  health: z
    .string()
    .default("/health")
    .meta({ description: "Path that answers 200 when the service is up." }),
});
