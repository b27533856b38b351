/** provider: vercel, deployments and the production alias through Vercel's REST API. */
import * as z from "zod";
import { secretField } from "../common.js";
import { deployCommon } from "./common.js";

export const VercelDeploy = z.strictObject({
  provider: z.literal("vercel"),
  ...deployCommon,
  project: z.string(),
  scope: z.string().optional(),
  alias: z.string().meta({ description: "The production alias moved to the new deployment." }),
  token: secretField("Vercel token."),
});
