/** The rollback procedure: ordered steps with time targets. */
import * as z from "zod";
import { Command, Description, Duration, Name, Severity, Span } from "./common.js";

export const RollbackStep = z
  .strictObject({
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
  })
  .meta({ description: "One rollback step: revert, migrations, run, check, notify, confirm or wait." });

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
