/** People: roles and their members, decision points, handoff checklists, SLAs. */
import * as z from "zod";
import { Anchor, Approvers, Description, Duration, Name, Only, Severity } from "./common.js";

export const Role = z
  .strictObject({
    description: Description.optional(),
    members: z
      .array(z.string().min(1))
      .meta({ description: "People in this role (their Gantry identities)." }),
    onCall: z.boolean().default(false).meta({ description: "This role is the on-call rotation." }),
  })
  .meta({ description: "A role: who may approve, confirm and sign off." });

export const Decision = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    after: Anchor,
    approvers: Approvers,
    inputs: z
      .array(Name)
      .default([])
      .meta({ description: "Checks whose results are shown to the approvers." }),
    timeout: Duration.optional().meta({ description: "How long to wait for the decision." }),
    onTimeout: z.enum(["abort", "rollback", "proceed"]).default("abort"),
    only: Only,
  })
  .meta({ description: "A go/no-go decision point with named approvers." });

export const Checklist = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    after: Anchor,
    items: z.array(z.string().min(1)).min(1),
    signoff: Approvers,
    only: Only,
  })
  .meta({ description: "A handoff checklist that named roles sign off." });

export const Sla = z.strictObject({
  ack: Duration.meta({ description: "Time to acknowledge." }),
  mitigate: Duration.meta({ description: "Time to mitigate or roll back." }),
});

export const Slas = z.partialRecord(Severity, Sla).meta({ description: "Response targets per severity." });
