/**
 * Building blocks shared by every section of the runbook declaration.
 * Every key is declared once, with its description and default; the JSON Schema in
 * schema/runbook.v1.json and the docs are generated from these declarations.
 */
import * as z from "zod";
import { DURATION_PATTERN, durationHint, parseDuration } from "../duration.js";
import { parseComparison, parseCondition } from "../expression.js";
import { SECRET_REF_PATTERN } from "../secret.js";

/** A duration as written and in milliseconds; `timeline` when it is a span of the release's timeline. */
export interface Duration {
  text: string;
  ms: number;
  timeline?: true;
}

function durationError(input: unknown): string {
  return typeof input === "string" ? durationHint(input) : "expected a duration such as 30s, 5m or 1h30m";
}

const DURATION_DESCRIPTION =
  "A duration: a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 1h30m, 2d.";

function duration(timeline: boolean) {
  return z
    .string({ error: (iss) => durationError(iss.input) })
    .regex(new RegExp(DURATION_PATTERN), { error: (iss) => durationError(iss.input) })
    .transform((text): Duration => {
      const ms = parseDuration(text)!;
      return timeline ? { text, ms, timeline: true } : { text, ms };
    })
    .meta({
      description: timeline
        ? `${DURATION_DESCRIPTION} On the release's timeline: divided by the environment's timeScale.`
        : DURATION_DESCRIPTION,
    });
}

/** A duration that is not on the release's timeline: a timeout, a retry delay, a latency budget. */
export const Duration = duration(false);

/** A span of the release's timeline (how long a rule holds, a hold, an SLA): compressed by timeScale. */
export const Span = duration(true);

const OFFSET = /^T?([+-])?((?:\d+(?:ms|s|m|h|d|w))+|0)$/;

/** A point relative to the deploy: `T+15m`, `T-7d`, `T+0`. Always on the timeline. */
export interface Offset {
  text: string;
  ms: number;
  timeline: true;
}

function offsetError(input: unknown): string {
  return `bad time offset \`${String(input)}\`: write T+ or T- and a duration, e.g. T+0, T+15m, T+24h, T-7d`;
}

export const Offset = z
  .union([z.string(), z.literal(0)], { error: (iss) => offsetError(iss.input) })
  .refine((v) => v === 0 || OFFSET.test(v), { error: (iss) => offsetError(iss.input) })
  .transform((v): Offset => {
    if (v === 0) return { text: "T+0", ms: 0, timeline: true };
    const m = OFFSET.exec(v)!;
    const magnitude = m[2] === "0" ? 0 : parseDuration(m[2]!)!;
    const sign = m[1] === "-" ? -1 : 1;
    return { text: v.startsWith("T") ? v : `T${m[1] ?? "+"}${m[2]}`, ms: sign * magnitude, timeline: true };
  })
  .meta({ description: "A time relative to the deploy (T): T+0, T+15m, T+24h, T-7d." });

export const Name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, {
    error: (iss) =>
      `bad name \`${String(iss.input)}\`: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
  })
  .meta({ description: "A name used to refer to this item elsewhere in the runbook." });

/** Signal names appear inside rule conditions, so they are identifiers. */
export const SignalName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, {
    error: (iss) =>
      `bad signal name \`${String(iss.input)}\`: use lower-case letters, digits and '_', starting with a letter (it is used in rule conditions, e.g. error_rate > 0.05)`,
  })
  .meta({ description: "A signal name, usable in rule conditions." });

export const SecretRef = z
  .string()
  .regex(new RegExp(SECRET_REF_PATTERN), {
    // The input is not echoed: it may be the secret itself.
    error:
      "not a secret reference: write env:NAME (an environment variable) or file:PATH; never the value itself",
  })
  .meta({ description: "Where a secret lives: env:NAME or file:PATH. Never the value itself." });

/** A field that may carry a credential: a secret reference, a template, or a literal (warned when it looks secret). */
export const secretField = (description: string) =>
  z.string().meta({
    description: `${description} May be a secret reference (env:NAME, file:PATH).`,
    "x-gantry-secret": true,
  });

export const Severity = z
  .enum(["P0", "P1", "P2", "P3"])
  .meta({ description: "Severity tier, P0 (worst) to P3." });

export const Percent = z
  .union([
    z.number().min(0).max(1),
    z.string().regex(/^\d+(\.\d+)?%$/, {
      error: "write a percentage such as 5% or 0.5%, or a fraction such as 0.05",
    }),
  ])
  .transform((v) => (typeof v === "number" ? v : Number(v.slice(0, -1)) / 100))
  .meta({ description: "A ratio: 5% or 0.05." });

/** An expected value: `< 80%`, `>= 90`, `== ok`, or a bare value meaning equality. */
export const Expect = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v, ctx) => {
    const parsed = parseComparison(v);
    if (!parsed.ok) {
      ctx.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    }
    return parsed.value;
  })
  .meta({ description: "Expected value: `< 80%`, `>= 90`, `== ok`, or a bare value meaning equality." });

/** A rule condition: `error_rate > 0.05`. */
export const Condition = z
  .string()
  .transform((v, ctx) => {
    const parsed = parseCondition(v);
    if (!parsed.ok) {
      ctx.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    }
    return parsed.value;
  })
  .meta({ description: "A condition on a signal: `<signal> <op> <value>`, e.g. `error_rate > 0.05`." });

export const Command = z
  .string()
  .min(1)
  .meta({ description: "A shell command, run with /bin/sh -c. May use {{ … }} interpolation." });

/** Where in the release something happens: after a phase, or at a monitoring checkpoint. */
export const ANCHORS = [
  "gates",
  "preflight",
  "backup",
  "migrations",
  "deploy",
  "smoke",
  "integrity",
  "monitor",
] as const;
/** The phases a step placed after them still comes before the deploy. */
export const BEFORE_DEPLOY: readonly string[] = ["gates", "preflight", "backup", "migrations"];

export const Anchor = z
  .string()
  .regex(new RegExp(`^(?:${ANCHORS.join("|")}|T\\+(?:(?:\\d+(?:ms|s|m|h|d|w))+|0))$`), {
    error: (iss) =>
      `bad position \`${String(iss.input)}\`: write a phase (${ANCHORS.join(", ")}) or a monitoring checkpoint such as T+30m`,
  })
  .meta({
    description: `After which phase (${ANCHORS.join(", ")}) or at which checkpoint (T+30m) this happens.`,
  });

export const Approvers = z
  .array(
    z.strictObject({
      role: Name.meta({ description: "The role whose members may approve." }),
      count: z
        .number()
        .int()
        .min(1)
        .default(1)
        .meta({ description: "How many distinct members must approve." }),
    }),
  )
  .min(1)
  .meta({ description: "Who must approve: each entry needs `count` distinct members of `role`." });

export const Description = z.string().meta({ description: "Free text shown in plans, status and reports." });

/** Restricts a step to some environments, e.g. a go/no-go decision only in production. */
export const Only = z
  .array(Name)
  .min(1)
  .optional()
  .meta({ description: "Only in these environments; by default in every environment." });
