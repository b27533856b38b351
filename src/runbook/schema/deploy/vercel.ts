/**
 * provider: vercel, deployments and the production alias through Vercel's REST API. The
 * deployment of a release is either one CI already built (source: prebuilt, found by a meta
 * key naming the version) or one Gantry creates from the release's git ref (source: git).
 * String fields may hold templates ({{ env.vars.vercel_alias }}, {{ release.ref }}).
 */
import * as z from "zod";
import { secretField } from "../common.js";
import { deployCommon } from "./common.js";

const VercelGit = z
  .strictObject({
    provider: z
      .enum(["github", "gitlab", "bitbucket"])
      .default("github")
      .meta({ description: "Where the repository is hosted (the project's connected Git provider)." }),
    repo: z.string().meta({
      description:
        "The repository: github owner/name (or its numeric ID), gitlab the numeric project ID, bitbucket workspace/slug.",
    }),
    ref: z
      .string()
      .default("{{ release.ref }}")
      .meta({ description: "The branch or tag to build, e.g. v{{ release.version }}." }),
    sha: z.string().optional().meta({ description: "The commit to build, e.g. {{ release.sha }}." }),
  })
  .meta({ description: "The git source a deployment is created from (source: git)." });

export const VercelDeploy = z
  .strictObject({
    provider: z.literal("vercel"),
    ...deployCommon,
    project: z.string().meta({ description: "The Vercel project, by name or ID (prj_…)." }),
    scope: z.string().optional().meta({
      description:
        "The team the project belongs to: its ID (team_…, sent as teamId) or its slug. Absent: the token's own account.",
    }),
    alias: z.string().meta({ description: "The production alias moved to the new deployment." }),
    token: secretField("Vercel token."),
    api: z
      .string()
      // A template ({{ env.vars.vercel_api }}) is filled in at run time, like the other fields.
      .regex(/^(?:https?:\/\/\S+|.*\{\{.*)$/, { error: "api must be an http(s) URL or a template" })
      .default("https://api.vercel.com")
      .meta({ description: "The REST API's base URL." }),
    source: z.enum(["prebuilt", "git"]).default("prebuilt").meta({
      description:
        "prebuilt: the release's deployment exists already (built by CI with `vercel deploy --prebuilt --meta gantryVersion=<version>`), found by `versionMeta`; git: Gantry creates it from `git` and waits for its build.",
    }),
    versionMeta: z.string().default("gantryVersion").meta({
      description:
        "The deployment meta key whose value names the release version (a leading v is ignored), e.g. gantryVersion or githubCommitRef.",
    }),
    git: VercelGit.optional(),
    target: z.string().default("production").meta({
      description:
        "The environment of the release's deployment, production, preview or a custom one: what a created deployment (source: git) builds for; which deployments qualify (source: prebuilt).",
    }),
  })
  .refine((d) => d.source !== "git" || d.git !== undefined, {
    error: "source: git needs a `git` section (the repository and ref to build)",
    path: ["git"],
  });
