/** Environments: where a release goes, what it talks to, and when it may go there. */
import * as z from "zod";
import { Description, Duration, Name, SecretRef, Span, secretField } from "./common.js";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, {
  error: (iss) => `bad time \`${String(iss.input)}\`: write HH:MM, e.g. 10:00`,
});

export const Window = z
  .strictObject({
    days: z
      .array(z.enum(DAYS))
      .min(1)
      .meta({ description: "Days the window is open, e.g. [tue, wed, thu]." }),
    start: Clock.meta({ description: "Opening time, HH:MM, in `timezone`." }),
    end: Clock.meta({ description: "Closing time, HH:MM, in `timezone`." }),
    timezone: z.string().default("UTC").meta({ description: "IANA time zone, e.g. America/New_York." }),
  })
  .meta({ description: "A recurring deployment window." });

const Timestamp = z.iso
  .datetime({ offset: true })
  .meta({ description: "An ISO 8601 timestamp with offset, e.g. 2025-12-20T00:00:00-05:00." });

export const Freeze = z.strictObject({
  from: Timestamp,
  until: Timestamp,
  reason: z.string().optional(),
});

const MetricSource = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("prometheus"),
    url: z.string().meta({ description: "Base URL of the Prometheus HTTP API." }),
    headers: z.record(z.string(), secretField("A header value, e.g. Authorization.")).default({}),
  }),
  z.strictObject({
    type: z.literal("sentry"),
    url: z.string().default("https://sentry.io"),
    org: z.string(),
    project: z.string(),
    token: secretField("Sentry auth token."),
  }),
  z.strictObject({
    type: z.literal("posthog"),
    url: z.string().default("https://app.posthog.com"),
    project: z.string(),
    token: secretField("PostHog personal API key."),
  }),
  z.strictObject({
    type: z.literal("http"),
    url: z.string().meta({ description: "A service's own metrics endpoint (Prometheus text or JSON)." }),
  }),
]);

const JsonPathField = z
  .string()
  .regex(/^\$/, { error: "a JSONPath starts with `$`, e.g. $.dependencies" })
  .meta({ description: "A JSONPath into the inventory's JSON." });

export const Inventory = z
  .strictObject({
    url: z
      .string()
      .optional()
      .meta({ description: "A JSON endpoint describing the running service, e.g. {{ env.url }}/version." }),
    headers: z.record(z.string(), secretField("A header value.")).default({}),
    run: z
      .string()
      .optional()
      .meta({ description: "Or a command printing that JSON (e.g. the platform's CLI)." }),
    timeout: Duration.prefault("10s"),
    dependencies: JsonPathField.optional().meta({
      description: "An object of dependency name → version, e.g. $.dependencies.",
    }),
    runtime: JsonPathField.optional().meta({ description: "The runtime version, e.g. $.node." }),
    keys: JsonPathField.optional().meta({
      description:
        "The environment's configuration keys: a list of names, or an object whose keys are taken (values are never read into output).",
    }),
    config: JsonPathField.optional().meta({
      description:
        "A configuration object whose structure (key paths and types, never values) is hashed for drift.",
    }),
  })
  .meta({
    description:
      "Where Gantry reads what an environment runs: dependency versions, runtime, configuration key names. Used by parity and drift. Give `url` or `run`.",
  });

export const Environment = z
  .strictObject({
    description: Description.optional(),
    url: z.string().optional().meta({ description: "Base URL of the service, {{ env.url }} in templates." }),
    production: z.boolean().default(false).meta({ description: "Marks a production environment." }),
    owner: Name.optional().meta({ description: "The role that owns this environment." }),
    escalation: z.array(Name).default([]).meta({ description: "Roles to escalate to, in order." }),
    vars: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .meta({ description: "Plain values for templates: {{ env.vars.<key> }}. Never secrets." }),
    secrets: z
      .record(Name, SecretRef)
      .default({})
      .meta({ description: "Secrets for this environment, overriding the top-level ones of the same name." }),
    database: z
      .strictObject({
        url: secretField("Postgres connection URL."),
        schemaVersion: z.string().optional().meta({ description: "SQL returning the schema version." }),
      })
      .optional(),
    redis: z.strictObject({ url: secretField("Redis connection URL.") }).optional(),
    metrics: z.record(Name, MetricSource).default({}).meta({ description: "Where signals are read from." }),
    validate: z.array(Name).default([]).meta({
      description:
        "Named checks that validate this environment (health, TLS, DNS, database, Redis, external services): run before every deploy here, and by `gantry check` without check names.",
    }),
    inventory: Inventory.optional(),
    windows: z
      .array(Window)
      .default([])
      .meta({ description: "When deploys may start. No windows: any time outside freezes." }),
    freezes: z.array(Freeze).default([]).meta({ description: "Periods when no deploy may start." }),
    override: z
      .strictObject({
        roles: z.array(Name).min(1).meta({ description: "Roles whose members may override." }),
        count: z.number().int().min(1).default(1).meta({ description: "How many distinct members must." }),
      })
      .optional()
      .meta({
        description:
          "Who may deploy while the window is closed or a freeze holds (`gantry override RUN --reason …`, or `release --override …`). None: nobody; the run waits for the window.",
      }),
    soak: z
      .strictObject({
        in: Name.meta({ description: "The environment the release must have run in first." }),
        min: Span.meta({ description: "For at least this long, e.g. 24h." }),
      })
      .optional()
      .meta({ description: "Require the release to have soaked elsewhere first." }),
    promoteFrom: Name.optional().meta({
      description: "Only versions released to this environment may come here.",
    }),
    allowRc: z.boolean().default(false).meta({ description: "Accept release-candidate refs (release.rc)." }),
    timeScale: z.number().min(1).max(100_000).optional().meta({
      description:
        "Compress the release's timeline by this factor, for a stand-in or a drill: checkpoints, rule durations, holds, soaks, SLA, approval and schedule times are divided by it (T+2h at 240 is 30s after the deploy); timeouts and latency budgets are not. Recorded in the plan and the release record.",
    }),
  })
  .meta({ description: "A deployment target." });
