/** Monitoring after the deploy: checkpoints, signals, rules and what each severity tier does. */
import * as z from "zod";
import { Condition, Description, Name, Offset, Severity, SignalName, Span } from "./common.js";
import { Probe } from "./probes.js";

export const Checkpoint = z
  .union([
    Offset,
    z.strictObject({
      at: Offset,
      name: z.string().optional(),
      checks: z.array(Name).default([]).meta({ description: "Named checks to run at this checkpoint." }),
    }),
  ])
  .transform((c) => ("at" in c ? c : { at: c, checks: [] as string[], name: undefined }))
  .meta({ description: "A monitoring checkpoint: T+15m, or { at: T+15m, checks: [...] }." });

const DURING = /^\s*(\S+)\s*\.\.\s*(\S*)\s*$/;

/** `T+0..T+30m`, or `T+2h..` (from T+2h to the end of monitoring). */
export const During = z
  .string()
  .transform((text, ctx) => {
    const m = DURING.exec(text);
    const from = m ? Offset.safeParse(m[1]) : undefined;
    const to = m?.[2] ? Offset.safeParse(m[2]) : undefined;
    if (!m || !from?.success || (to && !to.success)) {
      ctx.addIssue({
        code: "custom",
        message: `bad part of the timeline \`${text}\`: write FROM..TO as offsets from the deploy, e.g. T+0..T+30m, or T+2h.. for the rest of monitoring`,
      });
      return z.NEVER;
    }
    if (to?.data && to.data.ms <= from.data.ms) {
      ctx.addIssue({
        code: "custom",
        message: `\`${text}\` ends before it begins; write the earlier offset first`,
      });
      return z.NEVER;
    }
    return { text: text.trim(), from: from.data, ...(to?.data ? { to: to.data } : {}) };
  })
  .meta({
    description:
      "Judge the rule only in this part of the timeline: T+0..T+30m (the first half hour), T+2h.. (from two hours on). Outside it the rule rests and re-arms.",
  });

export const Rule = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    when: Condition,
    for: Span.prefault("0s").meta({
      description: "The condition must hold this long before the rule fires.",
    }),
    during: During.optional(),
    severity: Severity,
    component: Name.optional().meta({
      description:
        "The component this rule watches (components.<name>): its escalation is paged for the rule's incident.",
    }),
    mode: z
      .enum(["enforce", "watch"])
      .default("enforce")
      .meta({ description: "watch: record what the rule would have done, but do not act." }),
    consecutiveErrors: z
      .number()
      .int()
      .min(1)
      .default(3)
      .meta({ description: "Measurement errors in a row before the rule treats the signal as failed." }),
    missing: z.enum(["fail", "hold", "ignore"]).default("hold").meta({
      description: "When data is missing: fail (fire), hold (pause for a person), ignore (note only).",
    }),
  })
  .meta({
    description: "A rollback criterion: a condition on a signal held `for` a duration, with a severity.",
  });

export const TierAction = z.strictObject({
  action: z
    .enum(["rollback", "pause", "note"])
    .meta({ description: "rollback now, pause for a decision, or note." }),
  within: Span.optional().meta({ description: "Time target for acting on this tier." }),
});

export const Monitor = z
  .strictObject({
    interval: Span.prefault("30s").meta({ description: "How often signals are sampled." }),
    checkpoints: z.array(Checkpoint).min(1),
    signals: z.record(SignalName, Probe).default({}).meta({ description: "Signals sampled every interval." }),
    rules: z.array(Rule).default([]),
    tiers: z
      .partialRecord(Severity, TierAction)
      .default({
        P0: { action: "rollback" },
        P1: { action: "rollback" },
        P2: { action: "pause" },
        P3: { action: "note" },
      })
      .meta({ description: "What each severity does. Default: P0/P1 rollback, P2 pause, P3 note." }),
  })
  .meta({
    description: "Post-deploy monitoring: signals sampled until the last checkpoint, judged by rules.",
  });
