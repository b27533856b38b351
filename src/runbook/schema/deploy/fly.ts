/** provider: fly, an app's Machines updated to an image through the Fly Machines API. */
import * as z from "zod";
import { secretField } from "../common.js";
import { deployCommon } from "./common.js";

export const FlyDeploy = z.strictObject({
  provider: z.literal("fly"),
  ...deployCommon,
  app: z.string(),
  config: z.string().optional(),
  token: secretField("Fly API token."),
});
