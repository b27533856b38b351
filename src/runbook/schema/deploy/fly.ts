/** provider: fly, an app's Machines updated to an image through the Fly Machines API. */
import * as z from "zod";
import { secretField } from "../common.js";
import { deployCommon } from "./common.js";

export const FlyDeploy = z.strictObject({
  provider: z.literal("fly"),
  ...deployCommon,
  app: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, {
      error: (iss) =>
        `bad Fly app name \`${String(iss.input)}\`: use lower-case letters, digits and '-', starting with a letter or digit`,
    })
    .meta({ description: "The Fly app whose Machines run the release." }),
  image: z
    .string()
    .regex(/\{\{/, {
      error:
        "the image must change with the release: write {{ release.version }} in it, e.g. registry.fly.io/shop:{{ release.version }}",
    })
    .optional()
    .meta({
      description:
        "The image of a release, filled for each version. Default registry.fly.io/<app>:{{ release.version }}.",
    }),
  api: z
    .url({ protocol: /^https?$/ })
    .default("https://api.machines.dev")
    .meta({
      description:
        "Base URL of the Fly Machines API (http://_api.internal:4280 from inside Fly's private network).",
    }),
  token: secretField("Fly API token (fly tokens create deploy), sent as a Bearer token.").default(
    "env:FLY_API_TOKEN",
  ),
});
