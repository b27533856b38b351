/** Notifications: channels, message templates, and which events send which template. */
import * as z from "zod";
import { Duration, Name, SecretRef, secretField } from "./common.js";

export const EVENTS = [
  "release.started",
  "release.progress",
  "release.completed",
  "release.failed",
  "gate.failed",
  "approval.requested",
  "checkpoint.passed",
  "rollback.started",
  "rollback.completed",
  "incident.opened",
  "customer.notice",
] as const;

export const Channel = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("slack"),
    webhook: secretField("Slack incoming-webhook URL."),
    channel: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal("email"),
    to: z.array(z.string().min(3)).min(1),
    from: z.string(),
    smtp: secretField("SMTP URL, e.g. smtp://user:pass@host:587."),
  }),
  z.strictObject({
    type: z.literal("webhook"),
    url: secretField("Endpoint that receives a signed JSON payload."),
    secret: SecretRef.optional().meta({ description: "HMAC key used to sign the payload." }),
  }),
]);

export const Template = z.strictObject({
  subject: z.string().optional().meta({ description: "Subject line (email)." }),
  text: z.string().meta({ description: "The message, with {{ … }} interpolation and {% … %} tags." }),
});

export const Subscription = z.strictObject({
  event: z.enum(EVENTS),
  template: Name,
  to: z.array(Name).min(1).meta({ description: "Channels (notify.channels.<name>)." }),
  every: Duration.optional().meta({ description: "For release.progress: how often to send." }),
});

export const Notify = z
  .strictObject({
    channels: z.record(Name, Channel).default({}),
    templates: z.record(Name, Template).default({}),
    on: z.array(Subscription).default([]).meta({ description: "Which event sends which template where." }),
  })
  .meta({ description: "Who is told what, and when." });
