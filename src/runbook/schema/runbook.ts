/**
 * The runbook, format v1: the one declaration every other part of Gantry reads.
 * `RunbookInput` is what people write (shorthands allowed); `Runbook` is the normalized
 * result (defaults filled in, durations in ms, shorthands expanded).
 */
import * as z from "zod";
import { Name, Offset, Percent, SecretRef, Severity, Span } from "./common.js";
import { Environment } from "./environment.js";
import {
  Backup,
  Deploy,
  Gate,
  IntegrityCheck,
  Migrations,
  PreflightItem,
  ReleasePolicy,
  Smoke,
} from "./flow.js";
import { Monitor } from "./monitor.js";
import { Notify } from "./notify.js";
import { Checklist, Component, Decision, Role, Slas } from "./people.js";
import { Probe } from "./probes.js";
import { Rollback } from "./rollback.js";
import { Routine } from "./routines.js";

export const API_VERSION = "gantry/v1";
export const KINDS = ["release", "secret-rotation", "drill", "incident"] as const;

export const Metadata = z.strictObject({
  name: Name.meta({ description: "The runbook's name." }),
  service: Name.meta({ description: "The service this runbook releases." }),
  description: z.string().optional(),
  owner: Name.optional().meta({ description: "The role that owns this runbook." }),
  docs: z.string().optional().meta({ description: "Link to further documentation." }),
  labels: z.record(z.string(), z.string()).default({}),
});

export const ScheduleItem = z
  .strictObject({
    at: Offset,
    name: z.string(),
    owner: Name.optional().meta({ description: "The role responsible." }),
    tasks: z.array(z.string()).default([]),
    checks: z.array(Name).default([]).meta({ description: "Named checks to run at this time." }),
    run: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "A command to run at this time (fails the item when it fails)." }),
    signoff: z.boolean().optional().meta({
      description:
        "Whether a member of `owner` signs the item off (gantry approve). Default: when it has tasks and an owner.",
    }),
    remind: Span.optional().meta({
      description: "Remind (schedule.due again) this often until it is signed off.",
    }),
  })
  .meta({ description: "An item of the release schedule, before (T-7d) or after (T+1d) the deploy." });

export const Success = z
  .strictObject({
    after: Span.meta({ description: "Declare success this long after the deploy, e.g. 48h." }),
    without: z
      .array(Severity)
      .default(["P0", "P1"])
      .meta({ description: "…if no rule of these tiers fired." }),
  })
  .meta({ description: "When the release is declared successful." });

export const Parity = z
  .strictObject({
    with: Name.meta({ description: "The environment to compare with, e.g. staging." }),
    in: z
      .array(Name)
      .default([])
      .meta({ description: "Run parity as a pre-flight step when releasing to these environments." }),
    compare: z
      .array(z.enum(["dependencies", "runtime", "keys", "schema"]))
      .default(["dependencies", "runtime", "keys", "schema"])
      .meta({
        description:
          "What to compare: dependency versions and runtime and key names (from each environment's inventory), the database schema version.",
      }),
    acceptable: z.array(z.string()).default([]).meta({
      description:
        "Differences that are fine, as glob patterns on the item, e.g. dependencies.debug, keys.FEATURE_*, runtime.",
    }),
    go: Percent.prefault("90%").meta({ description: "Go at this score or more." }),
    noGo: Percent.prefault("80%").meta({ description: "No-go below this score; between the two: review." }),
  })
  .meta({
    description:
      "Compare two environments: the score is the share of compared items that match or differ acceptably.",
  });

export const Drift = z
  .strictObject({
    in: z
      .array(Name)
      .default([])
      .meta({ description: "Run drift as a pre-flight step when releasing to these environments." }),
    secrets: z.boolean().default(true).meta({
      description: "Every secret the runbook declares for the environment resolves (never printed).",
    }),
    keys: z.array(z.string()).default([]).meta({
      description: "Configuration keys that must be present in the environment's inventory (names only).",
    }),
    config: z.boolean().default(false).meta({
      description:
        "Compare a hash of the inventory's config structure with the last accepted one in Gantry's store.",
    }),
  })
  .meta({
    description: "The environment still has what the runbook expects: secrets, keys, config structure.",
  });

export const Runbook = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "JSON Schema for editors; ignored by Gantry." }),
    apiVersion: z.literal(API_VERSION).meta({ description: `Format version. Always ${API_VERSION}.` }),
    kind: z
      .enum(KINDS)
      .default("release")
      .meta({ description: "release, or an operations runbook: secret-rotation, drill, incident." }),
    metadata: Metadata.meta({ description: "The runbook's name, the service it releases, and its owner." }),
    secrets: z.record(Name, SecretRef).default({}).meta({
      description: "Secrets by name, {{ secrets.<name> }} in commands and checks. References only.",
    }),
    environments: z.record(Name, Environment).meta({ description: "Deployment targets by name." }),
    roles: z
      .record(Name, Role)
      .default({})
      .meta({ description: "Roles and their members: who approves, confirms, signs off." }),
    components: z.record(Name, Component).default({}).meta({
      description: "Parts of the service by name, with their owner, backup, escalation and on-call hours.",
    }),
    release: ReleasePolicy.default({
      tags: "v*",
      versionFrom: "tag",
      changelog: "commits",
      allowCommits: false,
    }),
    gates: z.array(Gate).default([]).meta({ description: "Commands that must all pass before deploying." }),
    checks: z.record(Name, Probe).default({}).meta({ description: "Named reusable checks." }),
    preflight: z
      .array(PreflightItem)
      .default([])
      .meta({ description: "Checks and confirmations before the deploy." }),
    decisions: z
      .array(Decision)
      .default([])
      .meta({ description: "Go/no-go decision points with named approvers." }),
    checklists: z
      .array(Checklist)
      .default([])
      .meta({ description: "Handoff checklists signed off by roles." }),
    backup: Backup.optional(),
    migrations: Migrations.optional(),
    deploy: Deploy.optional(),
    smoke: Smoke.default([]).meta({ description: "Tests run right after the deploy." }),
    integrity: z
      .array(IntegrityCheck)
      .default([])
      .meta({ description: "Data-integrity checks before vs after." }),
    monitor: Monitor.optional(),
    rollback: Rollback.optional(),
    notify: Notify.optional(),
    parity: Parity.optional(),
    drift: Drift.optional(),
    schedule: z
      .array(ScheduleItem)
      .default([])
      .meta({ description: "The release schedule around the deploy: T-7d … T+7d." }),
    success: Success.optional(),
    slas: Slas.optional(),
    routines: z
      .array(Routine)
      .default([])
      .meta({ description: "Checks run on a schedule outside releases (gantry worker --routines)." }),
  })
  .meta({ title: "Gantry runbook v1", description: "A release runbook for Gantry." });

/** What people write. */
export type RunbookInput = z.input<typeof Runbook>;
/** What Gantry works with after loading. */
export type Runbook = z.output<typeof Runbook>;
export type EnvironmentSpec = Runbook["environments"][string];
export type GateSpec = Runbook["gates"][number];
export type RuleSpec = NonNullable<Runbook["monitor"]>["rules"][number];
export type MigrationsSpec = NonNullable<Runbook["migrations"]>;
export type IntegritySpec = Runbook["integrity"][number];
