/** The rollback procedure: ordered steps with time targets, and choices between ways of undoing. */
import * as z from "zod";
import { Command, Condition, Description, Duration, Name, Severity, Span } from "./common.js";

const ACTION_FIELDS = {
  name: Name.optional(),
  description: Description.optional(),
  revert: z
    .boolean()
    .optional()
    .meta({ description: "Restore the last known good version through the deploy provider." }),
  migrations: z
    .enum(["down", "restore"])
    .optional()
    .meta({ description: "Undo this release's migrations: run down scripts, or restore the backup." }),
  run: Command.optional(),
  check: Name.optional().meta({ description: "Verify with a named check." }),
  notify: Name.optional().meta({ description: "Send a notification template (notify.templates.<name>)." }),
  to: z.array(Name).min(1).optional().meta({
    description: "With notify: the channels to send it to. Default: those subscribed to rollback.started.",
  }),
  confirm: z.string().optional().meta({ description: "A statement a person of role `by` must confirm." }),
  by: Name.optional(),
  wait: Span.optional(),
  within: Span.optional().meta({
    description: "Time target for this step, from the rollback decision.",
  }),
  timeout: Duration.optional(),
};

/** One ordinary rollback step: what an option of a choice is made of. */
export const RollbackAction = z
  .strictObject(ACTION_FIELDS)
  .meta({ description: "One rollback step: revert, migrations, run, check, notify, confirm or wait." });

export const RollbackOption = z
  .strictObject({
    name: Name.meta({ description: "What a person answers with: gantry approve RUN --choice NAME." }),
    description: Description.optional(),
    when: Condition.optional().meta({
      description:
        "A condition on monitor.signals, measured when the choice is made: the first option whose condition holds is taken without asking anyone.",
    }),
    steps: z.array(RollbackAction).min(1).meta({ description: "The rollback steps this option runs." }),
  })
  .meta({ description: "One way of doing a rollback step, with the steps it runs." });

export const RollbackChoice = z
  .strictObject({
    by: Name.optional().meta({
      description:
        "A role: when no option's condition holds, one of its members picks with gantry approve RUN --choice NAME.",
    }),
    timeout: Span.optional().meta({
      description:
        "With `by`: how long to wait for the pick; then `default` is taken. Default: wait until someone picks.",
    }),
    default: Name.meta({
      description: "The option taken when no condition holds and nobody is asked, or nobody picks in time.",
    }),
    options: z.array(RollbackOption).min(2),
  })
  .meta({
    description:
      "A choice between options: the first option whose `when` holds, else the pick of a member of `by`, else `default`.",
  });

export const RollbackStep = z
  .strictObject({
    ...ACTION_FIELDS,
    choose: RollbackChoice.optional(),
  })
  .meta({
    description: "One rollback step: revert, migrations, run, check, notify, confirm, wait, or choose.",
  });

export const Rollback = z
  .strictObject({
    target: Span.meta({ description: "Time target from detection to completed rollback, e.g. 15m." }),
    targets: z.partialRecord(Severity, Span).default({}).meta({ description: "Per-severity time targets." }),
    approval: z
      .strictObject({ role: Name, count: z.number().int().min(1).default(1) })
      .optional()
      .meta({ description: "Who may authorise a manual rollback." }),
    steps: z.array(RollbackStep).min(1),
  })
  .meta({ description: "How a release is rolled back." });
