/**
 * The deploy section: one schema per provider (a file each beside this one), told apart by
 * `provider`.
 */
import * as z from "zod";
import { CommandDeploy } from "./command.js";
import { FlyDeploy } from "./fly.js";
import { KubernetesDeploy } from "./kubernetes.js";
import { LocalProcessDeploy } from "./local-process.js";
import { VercelDeploy } from "./vercel.js";

export { CanaryStep } from "./common.js";

export const Deploy = z
  .discriminatedUnion("provider", [
    CommandDeploy,
    LocalProcessDeploy,
    VercelDeploy,
    KubernetesDeploy,
    FlyDeploy,
  ])
  .meta({
    description:
      "How the release is deployed and rolled back. provider: command, local-process, vercel, kubernetes, fly.",
  });
