/** Notifications: channels, message templates, and which events send which template. */
import * as z from "zod";
import { Duration, Name, Span, secretField } from "./common.js";

export const EVENTS = [
  "release.started",
  "release.progress",
  "release.completed",
  "release.failed",
  "gate.failed",
  "approval.requested",
  "checkpoint.passed",
  "rollback.started",
  "rollback.progress",
  "rollback.completed",
  "incident.opened",
  "customer.notice",
  "role.paged",
  "schedule.due",
] as const;
export type NotifyEvent = (typeof EVENTS)[number];

/** Events sent again and again while they last, every `every`. */
export const REPEATING: readonly NotifyEvent[] = ["release.progress", "rollback.progress"];

/** How a channel delivers: how long one attempt may take, and the waits between attempts. */
const delivery = {
  timeout: Duration.prefault("10s").meta({ description: "How long one delivery attempt may take." }),
  retry: z.array(Duration).max(10).prefault(["2s", "10s", "30s"]).meta({
    description:
      "Waits between attempts when a delivery fails (a server's Retry-After wins when longer). Default 2s, 10s, 30s: four attempts.",
  }),
};

export const SlackChannel = z.strictObject({
  type: z.literal("slack"),
  webhook: secretField("Slack incoming-webhook URL (one message per event; no threads).").optional(),
  token: secretField(
    "Slack bot token (xoxb-…) for the Web API: a release's messages go in one thread, and its first message shows the current status.",
  ).optional(),
  channel: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "The channel: its ID (C0123…) or name (#releases). Needed with `token`." }),
  api: z.string().min(1).optional().meta({
    description:
      "Slack Web API base URL. Default https://slack.com/api/. May be a template over the environment (`{{ env.vars.slack_api | default: 'https://slack.com/api/' }}`) or a reference (env:NAME).",
  }),
  ...delivery,
});

export const EmailChannel = z.strictObject({
  type: z.literal("email"),
  to: z.array(z.string().min(3)).min(1),
  cc: z.array(z.string().min(3)).default([]),
  from: z.string(),
  smtp: secretField(
    "SMTP URL with its credentials: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS).",
  ),
  tls: z.enum(["require", "opportunistic"]).default("require").meta({
    description:
      "require: never send over an unencrypted connection (smtp:// must offer STARTTLS). opportunistic: use TLS when the server offers it.",
  }),
  ca: z
    .string()
    .optional()
    .meta({ description: "A PEM file of certificate authorities to trust for the SMTP server." }),
  ...delivery,
});

export const WebhookChannel = z.strictObject({
  type: z.literal("webhook"),
  url: secretField("Endpoint that receives a signed JSON payload."),
  secret: secretField(
    "Signing secret (Standard Webhooks: whsec_<base64>, or any text): the payload is signed with HMAC-SHA256.",
  ).optional(),
  ...delivery,
});

export const Channel = z.discriminatedUnion("type", [SlackChannel, EmailChannel, WebhookChannel]);
export type ChannelSpec = z.output<typeof Channel>;

export const Template = z.strictObject({
  subject: z.string().optional().meta({ description: "Subject line (email)." }),
  text: z.string().meta({ description: "The message, with {{ … }} interpolation and {% … %} tags." }),
  html: z.string().optional().meta({ description: "An HTML version for email. Default: made from `text`." }),
});

export const Subscription = z.strictObject({
  event: z.enum(EVENTS),
  template: Name,
  to: z.array(Name).min(1).meta({ description: "Channels (notify.channels.<name>)." }),
  every: Span.optional().meta({
    description: "For release.progress and rollback.progress: how often to send.",
  }),
  required: z.boolean().default(false).meta({
    description:
      "When this message cannot be delivered after every retry, the run's outcome says so (the release goes on either way).",
  }),
});

export const Notify = z
  .strictObject({
    channels: z.record(Name, Channel).default({}),
    templates: z.record(Name, Template).default({}),
    on: z.array(Subscription).default([]).meta({ description: "Which event sends which template where." }),
  })
  .meta({ description: "Who is told what, and when." });
