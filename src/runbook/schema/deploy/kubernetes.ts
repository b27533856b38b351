/**
 * provider: kubernetes, manifests applied and Deployments rolled out through the Kubernetes API
 * (server-side apply), each rollout waited for, the running image digest checked, rolled back
 * to the last known good pod templates. See docs/providers.md.
 */
import * as z from "zod";
import { Command } from "../common.js";
import { deployCommon } from "./common.js";

/** A Deployment's name (an RFC 1123 subdomain), short enough for Gantry's `<name>-canary`. */
const DeploymentName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    error: (iss) =>
      `bad deployment name \`${String(iss.input)}\`: Kubernetes names use lower-case letters, digits, '-' and '.'`,
  })
  .max(246, {
    error: "a deployment name has at most 246 characters here (Gantry adds -canary for a canary)",
  });

const Digest = z.string().meta({ description: "sha256:<64 hex digits>; may use {{ … }} interpolation." });

export const KubernetesDeploy = z
  .strictObject({
    provider: z.literal("kubernetes"),
    ...deployCommon,
    kubeconfig: z.string().optional().meta({
      description:
        "Path of the kubeconfig file (relative to the runbook's folder; ~ is the home folder). Default: $KUBECONFIG (a list of files, merged as kubectl does), else ~/.kube/config.",
    }),
    context: z
      .string()
      .optional()
      .meta({ description: "The kubeconfig context to use. Default: its current-context." }),
    namespace: z.string().optional().meta({
      description:
        "Namespace of the Deployments (and of manifests that name none). Default: the context's, else default.",
    }),
    apply: z.string().optional().meta({
      description:
        "Folder (or file) of manifests, or a kustomization folder, applied with server-side apply; relative to the runbook's folder; may use {{ … }} interpolation. Supported in a kustomization.yaml: resources, namespace, images. Without `apply`, the image of the named Deployments is set in place.",
    }),
    deployments: z
      .array(DeploymentName)
      .min(1)
      .meta({ description: "Deployments whose rollout must complete (in `namespace`)." }),
    image: z.string().optional().meta({
      description:
        "The release's image without a tag, e.g. ghcr.io/acme/api: every container running it gets <image>:<tag>, and the digest its pods run is verified.",
    }),
    tag: z.string().default("{{ release.version }}").meta({
      description:
        "The image tag of a version; {{ release.version }} is the version, e.g. v{{ release.version }}.",
    }),
    digest: Digest.optional().meta({
      description:
        "The digest the release's tag resolves to in the registry (sha256:…), e.g. from a capture; on a deploy, the pods must run it.",
    }),
    traffic: Command.optional().meta({
      description:
        "Canary: run after each change of the canary's replicas, for a traffic router; {{ canary.weight }} (and $GANTRY_CANARY_WEIGHT) is the canary's percentage (0–100). Without it, traffic follows the replica ratio.",
    }),
  })
  .superRefine((spec, ctx) => {
    if (!spec.apply && !spec.image) {
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message:
          "give `apply` (the manifests to apply) or `image` (set in place on the deployments), or both",
      });
    }
  });
