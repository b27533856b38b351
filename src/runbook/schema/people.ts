/** People: roles and their members, components and their owners, decision points, handoff checklists, SLAs. */
import * as z from "zod";
import { Anchor, Approvers, Description, Name, Only, Severity, Span } from "./common.js";
import { Window } from "./environment.js";

/** When a role (or a component's owner) answers pages, and who answers instead. */
const onCall = {
  backup: Name.optional().meta({
    description: "The role paged instead when the role (for a component: its owner) is outside its `hours`.",
  }),
  hours: z
    .array(Window.meta({ description: "On-call hours, written like a deployment window." }))
    .optional()
    .meta({
      description:
        "When pages reach the role (for a component: its owner), written like deployment windows (days, start, end, timezone). None: at any time. An empty list: only for the severities in `outOfHours`.",
    }),
  outOfHours: z.array(Severity).optional().meta({
    description:
      'Severities that page the role outside its `hours` too, e.g. [P0] for "weekends: P0 only". Default: none.',
  }),
};

export const Role = z
  .strictObject({
    description: Description.optional(),
    members: z
      .array(z.string().min(1))
      .meta({ description: "People in this role (their Gantry identities)." }),
    onCall: z.boolean().default(false).meta({ description: "This role is the on-call rotation." }),
    ...onCall,
  })
  .meta({ description: "A role: who may approve, confirm and sign off, and when it answers pages." });

export const Component = z
  .strictObject({
    description: Description.optional(),
    owner: Name.meta({ description: "The role that owns this component: paged first for its incidents." }),
    escalation: z.array(Name).default([]).meta({
      description:
        "Roles paged in turn for an incident of a rule naming this component (`component:`), instead of the severity's `slas` escalation. Default: the owner alone.",
    }),
    ...onCall,
  })
  .meta({
    description:
      "A part of the service with an owner (an environment, the database, monitoring, an integration). `backup`, `hours` and `outOfHours` here apply to the owner when it is paged for this component, over the role's own.",
  });

export const CHOICES = ["go-no-go", "continue-rollback", "complete-investigate"] as const;

const AllowSelfApproval = z.boolean().default(false).meta({
  description:
    "Whether the person who started the release may approve this too (default: no; someone else must).",
});

/** How a waiting request reminds people, and whom it pages when nobody answers. */
const waiting = {
  remind: Span.optional().meta({
    description:
      "While the request waits for answers, ask again every this long (approval.requested, marked as a reminder).",
  }),
  escalation: z.array(Name).default([]).meta({
    description:
      "Roles paged in turn (role.paged), one at each reminder, while the request waits: the first at the first reminder, the next at the second, …",
  }),
};

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
    timeout: Span.optional().meta({ description: "How long to wait for the decision." }),
    onTimeout: z.enum(["abort", "rollback", "proceed"]).default("abort"),
    ...waiting,
    allowSelfApproval: AllowSelfApproval,
    choices: z.enum(CHOICES).optional().meta({
      description:
        "What approving and rejecting mean. go-no-go (before the deploy): a no-go ends the run postponed, with the next window. continue-rollback: rejecting rolls back. complete-investigate: rejecting pages `page` and asks again while monitoring goes on. Default: go-no-go before the deploy, continue-rollback after it.",
    }),
    postpone: Span.prefault("24h").meta({
      description: "go-no-go: a no-go suggests the first window at least this much later.",
    }),
    page: Name.optional().meta({
      description: "complete-investigate: the role paged to investigate (default: the on-call role).",
    }),
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
    timeout: Span.optional().meta({ description: "How long to wait for the sign-off." }),
    onTimeout: z.enum(["abort", "rollback", "proceed"]).default("abort"),
    ...waiting,
    allowSelfApproval: AllowSelfApproval,
    only: Only,
  })
  .meta({ description: "A handoff checklist that named roles sign off." });

export const Sla = z.strictObject({
  ack: Span.meta({ description: "Time to acknowledge (gantry ack RUN), from when the rule fired." }),
  mitigate: Span.meta({ description: "Time to mitigate or roll back, from when the rule fired." }),
  escalation: z.array(Name).default([]).meta({
    description:
      "Roles paged in turn (role.paged) each time a target runs out unacknowledged: the first at the first breach, the next one an `ack` later, …",
  }),
});

export const Slas = z.partialRecord(Severity, Sla).meta({ description: "Response targets per severity." });
