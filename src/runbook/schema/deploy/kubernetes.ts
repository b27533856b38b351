/** provider: kubernetes, manifests applied and Deployments rolled out through the Kubernetes API. */
import * as z from "zod";
import { deployCommon } from "./common.js";

export const KubernetesDeploy = z.strictObject({
  provider: z.literal("kubernetes"),
  ...deployCommon,
  context: z.string().optional(),
  namespace: z.string().default("default"),
  apply: z.string().optional().meta({ description: "Kustomize directory applied with kubectl apply -k." }),
  deployments: z.array(z.string()).min(1).meta({ description: "Deployments whose rollout must complete." }),
  image: z
    .string()
    .optional()
    .meta({ description: "Image whose digest must match the release tag, e.g. ghcr.io/acme/api." }),
});
