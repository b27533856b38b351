/** The release flow before monitoring: ref policy, gates, pre-flight, backup, migrations, deploy, smoke, integrity. */
import * as z from "zod";
import {
  Anchor,
  Command,
  Description,
  Duration,
  Expect,
  Name,
  Only,
  Percent,
  secretField,
} from "./common.js";
import { Probe } from "./probes.js";

export const ReleasePolicy = z
  .strictObject({
    tags: z.string().optional().meta({ description: "Glob of tags that may be released, e.g. v*." }),
    commit: z
      .string()
      .regex(/^[0-9a-f]{7,40}$/, { error: "a pinned commit is 7 to 40 lower-case hex characters" })
      .optional()
      .meta({ description: "Pin the release to this commit instead of a tag." }),
    rc: z.string().optional().meta({ description: "Glob of release-candidate tags, e.g. v*-rc.*." }),
    allowCommits: z.boolean().default(false).meta({
      description: "Also accept a commit SHA (7–40 hex characters) as the ref, besides matching tags.",
    }),
    versionFrom: z
      .enum(["tag", "ref"])
      .default("tag")
      .meta({ description: "tag: the version is the tag without a leading v; ref: the ref as given." }),
    changelog: z
      .enum(["commits", "none"])
      .default("commits")
      .meta({ description: "Draft the changelog from commits since the previous version." }),
  })
  .meta({ description: "Which refs may be released and how the version is read from them." });

export const Gate = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    run: Command,
    timeout: Duration.prefault("10m"),
    parallel: z
      .boolean()
      .default(false)
      .meta({ description: "May run at the same time as neighbouring parallel gates." }),
    cache: z
      .boolean()
      .default(true)
      .meta({ description: "Reuse a verdict for the same commit and command (deterministic gates)." }),
    env: z.record(z.string(), z.string()).default({}).meta({ description: "Extra environment variables." }),
  })
  .meta({ description: "A command that must pass before anything is deployed." });

/** One step of a procedure, written as the one key that says what it does. */
const stepKeys = {
  name: Name.optional(),
  description: Description.optional(),
  check: Name.optional().meta({ description: "Run a named check (checks.<name>)." }),
  confirm: z.string().optional().meta({ description: "A statement a person of role `by` must confirm." }),
  by: Name.optional().meta({ description: "The role that confirms." }),
  run: Command.optional().meta({ description: "Run a command." }),
  timeout: Duration.optional(),
  only: Only,
};

export const PreflightItem = z.strictObject(stepKeys).meta({
  description:
    "A pre-flight item: `check: <name>`, `run: <command>`, or `confirm: <text>` with `by: <role>`.",
});

export const Backup = z
  .strictObject({
    run: Command.optional().meta({ description: "Take a backup (pg_dump or the team's own command)." }),
    file: z.string().optional().meta({
      description:
        "Where `run` writes the backup, relative to the runbook (templates allowed). Gantry records its size, and the restore command can use {{ backup.file }}.",
    }),
    maxAge: Duration.optional().meta({
      description: "Pre-flight: the latest backup must be younger than this.",
    }),
    latest: z
      .union([z.string(), Command])
      .optional()
      .meta({ description: "Command printing the latest backup's time (ISO 8601) for the maxAge check." }),
    required: z.boolean().default(true).meta({ description: "Fail the release when the backup fails." }),
  })
  .meta({ description: "The backup taken before the deploy, and how fresh the last one must be." });

export const Migrations = z
  .strictObject({
    dir: z.string().meta({ description: "Folder of migration files, relative to the runbook." }),
    runner: z.enum(["sql", "command"]).default("sql").meta({
      description:
        "sql: Gantry applies each .sql file in a transaction; command: the team's own tool applies each file.",
    }),
    table: z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/,
        "a table name like gantry_migrations or ops.migrations",
      )
      .default("gantry_migrations")
      .meta({
        description:
          "The ledger in the environment's database: which files are applied, with their checksums and the run that applied them.",
      }),
    command: z
      .strictObject({
        apply: Command.meta({
          description:
            "Applies one migration: {{ migration.file }} (relative to the runbook), {{ migration.name }}.",
        }),
        dryRun: Command.optional().meta({
          description: "Shows what the tool would do, for `gantry migrations plan`.",
        }),
      })
      .optional()
      .meta({ description: "For runner: command — the team's own migration tool." }),
    assign: z.enum(["pattern", "analysis"]).default("pattern").meta({
      description: "pattern: by file name; analysis: destructive statements make a migration contract.",
    }),
    expand: z
      .strictObject({
        match: z
          .union([z.string(), z.array(z.string())])
          .default("*.sql")
          .meta({
            description: "File pattern(s) relative to dir; rollback scripts never count as migrations.",
          }),
      })
      .default({ match: "*.sql" })
      .meta({ description: "Backward-compatible migrations, applied before the deploy." }),
    contract: z
      .strictObject({
        match: z
          .union([z.string(), z.array(z.string())])
          .optional()
          .meta({ description: "File pattern of contract migrations; with assign: analysis, leave it out." }),
        after: Anchor.meta({ description: "Apply only once this point is healthy, e.g. T+60m." }),
      })
      .optional()
      .meta({ description: "Breaking migrations, applied only after the rollout proves healthy." }),
    rollback: z
      .strictObject({
        require: z
          .boolean()
          .default(true)
          .meta({ description: "Every migration must have a rollback script." }),
        scripts: z
          .string()
          .default("{name}_rollback.sql")
          .meta({ description: "Rollback file name for {name}.sql." }),
        strategy: z.enum(["down", "restore"]).default("down"),
        restore: Command.optional().meta({ description: "For strategy: restore — the restore command." }),
        approval: Name.optional().meta({ description: "Role that must approve a rollback that loses data." }),
      })
      .default({ require: true, scripts: "{name}_rollback.sql", strategy: "down" }),
    schemaVersion: z
      .strictObject({
        query: z
          .string()
          .meta({ description: "SQL returning the schema version (first column of the first row)." }),
        expect: z.string().optional().meta({
          description:
            "The version the database must have. A template (e.g. {{ release.version }}): after the expand phase. `ledger`: the newest migration Gantry's ledger records as applied, by its name (0002_assessment_exports) or its leading number (0002), checked in the pre-flight (nothing applied or undone outside Gantry), after each phase, and after a rollback's migrations.",
        }),
      })
      .optional()
      .meta({
        description:
          "How to read the schema version after each phase and after a rollback; without it, the last applied file in the ledger.",
      }),
  })
  .meta({
    description: "Ordered database migrations: expand before the deploy, contract after it is healthy.",
  });

export { Deploy } from "./deploy/index.js";

export const CheckRef = z.strictObject({
  check: Name.meta({ description: "A named check (checks.<name>)." }),
  name: Name.optional(),
  only: Only,
});

export const SmokeTest = z
  .union([CheckRef, Probe])
  .meta({ description: "A smoke test: a probe with a `name`, or `check: <name>` to run a named check." });

export const IntegrityCheck = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    query: z.string().meta({ description: "SQL returning one number." }),
    url: secretField("Connection URL; defaults to the environment's database.url.").optional(),
    expect: Expect.optional(),
    tolerance: Percent.optional().meta({
      description: "Compare with the value before the deploy, within ±tolerance.",
    }),
  })
  .meta({ description: "A data-integrity query: compared with a baseline (tolerance) or an expectation." });

export const Smoke = z.array(SmokeTest);
