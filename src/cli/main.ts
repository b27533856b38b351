/**
 * The `gantry` binary. Commands are loaded only when run, so `gantry --help` stays fast.
 * This is the one place errors are caught: ExitError carries the exit code of a command
 * that already printed its message; UsageError is the user's; anything else is a bug.
 */
import { Command, CommanderError, Option } from "commander";
import { Refusal } from "../app/refusal.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { VERSION } from "../version.js";
import { exitFor } from "./exit.js";

const program = new Command("gantry")
  .description("Release runbooks as executable, durable, auditable procedures.")
  .version(VERSION, "-V, --version")
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "gantry: ")) });

program
  .command("validate")
  .description(
    "Check runbook files: schema, references, templates, secrets. Exit 0 valid, 1 invalid, 2 usage.",
  )
  .argument("<file...>", "runbook files (YAML)")
  .option("--json", "print a machine-readable result")
  .action(async (files: string[], opts: { json?: boolean }) =>
    (await import("./validate.js")).validate(files, opts),
  );

program
  .command("plan")
  .description("Print what a release would do, in order, without running or touching anything.")
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "target environment")
  .option("--ref <ref>", "tag or commit to release, e.g. v2.1.0")
  .option("--at <time>", "time of the deploy (ISO 8601, e.g. 2025-10-07T10:00-04:00); default now")
  .option("--json", "print the plan as JSON")
  .action(async (file: string, opts) => (await import("./plan.js")).planCommand(file, opts));

program
  .command("init")
  .description("Write a commented starter runbook that validates.")
  .argument("[file]", "where to write it", "runbook.yaml")
  .option("--service <name>", "service name", "my-service")
  .option("--force", "overwrite an existing file")
  .action(async (file: string, opts) => (await import("./init.js")).init(file, opts));

const dataDir = () =>
  new Option(
    "--data-dir <dir>",
    "data folder of the embedded Postgres (default .gantry, or GANTRY_DATA_DIR)",
  );

program
  .command("check")
  .description(
    "Run checks now against an environment: named checks, parity, drift; without names, the environment's validate list. Exits 4 when a check failed, 9 when one could not be measured.",
  )
  .argument("<file>", "runbook file")
  .argument("[checks...]", "check names (checks.<name>), parity or drift")
  .requiredOption("--env <name>", "environment to check")
  .option("--json", "print the results as JSON")
  .option("--accept-drift", "accept the current config structure as the known one (with drift)")
  .option("--as <name>", "who accepts drift (default $GANTRY_USER or $USER)")
  .addOption(dataDir())
  .action(async (file: string, checks: string[], opts) =>
    (await import("./check.js")).check(file, checks, opts),
  );

const migrations = program
  .command("migrations")
  .description("Lint migration files and show what a release would apply (dry run).");

migrations
  .command("lint")
  .description(
    "Parse every migration with the PostgreSQL parser; report destructive, breaking and locking statements with file:line and a safer form. Exit 1 when a release would refuse them.",
  )
  .argument("<file>", "runbook file")
  .option("--env <name>", "read table sizes from this environment's database (for CREATE INDEX)")
  .option("--json", "print the findings as JSON")
  .action(async (file: string, opts) => (await import("./migrations.js")).lint(file, opts));

migrations
  .command("plan")
  .description(
    "Dry run: read the ledger in the environment's database and show, per phase, what would be applied and how. Changes nothing. Exit 1 when a release would refuse (lint error, changed file).",
  )
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "environment whose database holds the ledger")
  .option("--ref <ref>", "version shown in commands that use {{ release.version }}")
  .option("--json", "print the plan as JSON")
  .action(async (file: string, opts) => (await import("./migrations.js")).plan(file, opts));

program
  .command("release")
  .description(
    "Run a release: gates, pre-flight, deploy, smoke, monitoring, automatic rollback. Exit 0 released, 4 gate failed, 5 rolled back, 6 aborted, 7 failed, 14 postponed (a no-go).",
  )
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "target environment")
  .option("--ref <ref>", "tag or commit to release, e.g. v2.1.0")
  .option(
    "--at <time>",
    "when the deploy (T) is planned, ISO 8601: schedule items before it (T-7d …) are timed from it; default now, or the next opening of a closed window",
  )
  .option("--detach", "queue the release for `gantry worker` and return")
  .option("--no-cache", "run every gate again, even when it passed for this commit before")
  .option(
    "--as <name>",
    "who is releasing, on a database without identities only (default $GANTRY_USER or $USER)",
  )
  .option(
    "--override <reason>",
    "deploy although the window is closed or a freeze holds: you must be in a role environments.<env>.override names; recorded",
  )
  .addOption(dataDir())
  .addOption(new Option("--json", "print the result as one JSON object"))
  .action(async (file: string, opts) => (await import("./release.js")).release(file, opts));

program
  .command("status")
  .description("Show runs, or one run: its steps, where it is, and how it ended.")
  .argument("[run]", "run id (default: list recent runs)")
  .addOption(dataDir())
  .option("--json", "print as JSON")
  .action(async (run: string | undefined, opts) => (await import("./runs.js")).status(run, opts));

program
  .command("log")
  .description("Print a run's event log: every step, output line, measurement, verdict and decision.")
  .argument("<run>", "run id")
  .addOption(dataDir())
  .option("--json", "print the events as JSON (one per line with --follow)")
  .option("--follow", "keep printing events as they are written, until the run finishes")
  .action(async (run: string, opts) => (await import("./runs.js")).log(run, opts));

program
  .command("report")
  .description(
    "A run's release record, drawn from its event log: Markdown, self-contained HTML with charts of the signals, JSON, or JUnit XML for CI.",
  )
  .argument("<run>", "run id")
  .option("--format <format>", "md, html, json or junit", "md")
  .option("--out <file>", "write it to this file instead of stdout")
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./reports.js")).report(run, opts));

program
  .command("postmortem")
  .description(
    "A run's postmortem draft (Markdown): the timeline, the rule and values that fired, the rollback and the durations against targets filled in from its event log; the rest left as prompts.",
  )
  .argument("<run>", "run id")
  .option("--out <file>", "write it to this file instead of stdout")
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./reports.js")).postmortem(run, opts));

program
  .command("deployments")
  .description(
    "Show what serves in an environment, its last known good version and the latest deploys and rollbacks, per service.",
  )
  .requiredOption("--env <name>", "environment")
  .option("--service <name>", "only this service")
  .option("--limit <n>", "entries shown per service (default 20)")
  .addOption(dataDir())
  .option("--json", "print as JSON")
  .action(async (opts) => (await import("./deployments.js")).deployments(opts));

const asOption = () =>
  new Option(
    "--as <name>",
    "who acts, on a database without identities only (default $GANTRY_USER or $USER); with identities, GANTRY_TOKEN says who",
  );

program
  .command("approve")
  .description("Approve what a run is waiting for (a decision, a confirmation, a paused rule).")
  .argument("<run>", "run id")
  .addOption(asOption())
  .option("--reject", "reject instead: before the deploy the run stops, after it the run rolls back")
  .option("--reason <text>", "why (with --reject)")
  .option("--comment <text>", "a note recorded with the approval")
  .option("--role <role>", "the role to count for, when you are in more than one the step names")
  .option("--choice <option>", "for a rollback choice: the option to take (gantry status RUN lists them)")
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./runs.js")).approve(run, opts));

program
  .command("schedule")
  .description(
    "A release's schedule (T-7d … T+7d): each item's time, owner and whether it is done, due, overdue or upcoming.",
  )
  .argument("<run>", "run id")
  .addOption(dataDir())
  .option("--json", "print as JSON")
  .action(async (run: string, opts) => (await import("./runs.js")).schedule(run, opts));

program
  .command("checklist")
  .description(
    "Sign off one item of the checklist a run waits for (gantry approve signs off the whole list).",
  )
  .argument("<run>", "run id")
  .argument("<name>", "the checklist's name")
  .requiredOption("--item <n>", "the item's number, from 1, as gantry status lists them")
  .option("--done", "mark it done (the default)")
  .option("--comment <text>", "a note recorded with it")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (run: string, name: string, opts) => (await import("./runs.js")).checklist(run, name, opts));

program
  .command("handoff")
  .description(
    "Hand the incident command over during a rollback or an open incident: recorded with the outgoing and incoming commander.",
  )
  .argument("<run>", "run id")
  .requiredOption("--to <name>", "the incoming incident commander")
  .option("--from <name>", "the outgoing one (default: you)")
  .option("--note <text>", "what was handed over (status, actions taken, next steps)")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./runs.js")).handoffCommand(run, opts));

program
  .command("ack")
  .description(
    "Acknowledge the incident a run is timing (a P0/P1 rule fired): stops its acknowledgement target and the escalation (slas.<severity>).",
  )
  .argument("<run>", "run id")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./runs.js")).ack(run, opts));

program
  .command("override")
  .description(
    "Deploy although the run's environment is closed (outside its window, or frozen): by a member of a role environments.<env>.override names, with a reason; recorded.",
  )
  .argument("<run>", "run id")
  .requiredOption("--reason <text>", "why; recorded in the run's log")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./freeze.js")).override(run, opts));

program
  .command("freeze")
  .description(
    "Declare a freeze: no release of ENV deploys until it ends (checked by the engine before every deploy).",
  )
  .argument("<env>", "environment name")
  .requiredOption("--until <time>", "when it ends: ISO 8601, or a duration from now (2h, 3d)")
  .requiredOption("--reason <text>", "why; shown to every release it holds")
  .option("--from <time>", "when it starts (default now)")
  .option("--service <name>", "only this service's releases")
  .addOption(asOption())
  .addOption(dataDir())
  .option("--json", "print the freeze as JSON")
  .action(async (env: string, opts) => (await import("./freeze.js")).freeze(env, opts));

program
  .command("freezes")
  .description("List the freezes declared with gantry freeze that are in force or coming.")
  .option("--env <name>", "only this environment's")
  .option("--all", "lifted and past ones too")
  .addOption(dataDir())
  .option("--json", "print as JSON")
  .action(async (opts) => (await import("./freeze.js")).freezes(opts));

program
  .command("unfreeze")
  .description("Lift a freeze before its end: by the person who declared it or an administrator.")
  .argument("<id>", "the freeze's id (gantry freezes lists them)")
  .option("--reason <text>", "why; recorded")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (id: string, opts) => (await import("./freeze.js")).unfreeze(id, opts));

program
  .command("rollback")
  .description("Roll a run back to the last known good version, now.")
  .argument("<run>", "run id")
  .requiredOption("--reason <text>", "why; recorded in the run's log")
  .addOption(asOption())
  .addOption(dataDir())
  .option("--json", "print the result as JSON")
  .action(async (run: string, opts) => (await import("./runs.js")).rollback(run, opts));

program
  .command("abort")
  .description("Stop a run where it is, without rolling back.")
  .argument("<run>", "run id")
  .option("--reason <text>", "why; recorded in the run's log")
  .addOption(asOption())
  .addOption(dataDir())
  .action(async (run: string, opts) => (await import("./runs.js")).abort(run, opts));

program
  .command("resume")
  .description("Continue runs interrupted by a crash or Ctrl-C, from where they stood.")
  .argument("[run]", "run id (default: every interrupted run)")
  .addOption(dataDir())
  .option("--json", "print each result as JSON")
  .action(async (run: string | undefined, opts) => (await import("./runs.js")).resume(run, opts));

program
  .command("worker")
  .description(
    "Run queued releases (gantry release --detach) and resume interrupted ones, until stopped; with --routines, also the routines of those runbooks on their schedules.",
  )
  .option("--routines <file...>", "runbook files whose routines this worker runs (gantry routines --help)")
  .addOption(dataDir())
  .action(async (opts) => (await import("./runs.js")).worker(opts));

const routines = program
  .command("routines")
  .description(
    "A runbook's routines (checks on a schedule, outside releases): each with its next times, or with --history what their runs found. `gantry worker --routines FILE` runs them.",
  )
  .argument("<file>", "runbook file")
  .option(
    "--history",
    "the recorded runs, newest first: pass or fail, each check's result, when, which occurrence",
  )
  .option("--routine <name>", "only this routine's runs (with --history)")
  .option("--limit <n>", "runs shown (with --history; default 20)")
  .option("--json", "print as JSON")
  .addOption(dataDir())
  .addHelpText(
    "after",
    `
A routine, in the runbook (docs/probes.md, "Routines"):
  routines:
    - name: daily-drift
      env: production
      checks: [drift]              # checks.<name>, parity, drift
      cron: "0 9 * * *"            # 5 fields, or 6 with leading seconds
      timezone: America/New_York   # default UTC
      alert: { to: [slack-engineering], template: drift-alert, onRecovery: true }

Examples:
  gantry routines runbook.yaml                     next times
  gantry routines run runbook.yaml daily-drift     run it now (alerts when it fails)
  gantry worker --routines runbook.yaml            run them on their schedules
  gantry routines runbook.yaml --history`,
  )
  .action(async (file: string, opts) => (await import("./routines.js")).routines(file, opts));

routines
  .command("run")
  .description(
    "Run one routine now: its checks, recorded like a scheduled run, and its alert when it fails (once per occurrence and channel). Exit 0 passed, 4 a check failed, 9 one could not be measured, 1 an alert was not delivered.",
  )
  .argument("<file>", "runbook file")
  .argument("<name>", "the routine (routines[].name)")
  .option(
    "--at <time>",
    "the occurrence, ISO 8601 (e.g. a scheduled time a worker missed); an occurrence that ran already is not run again (default now)",
  )
  .option("--json", "print the result as JSON")
  .addOption(dataDir())
  .action(async (file: string, name: string, opts) => (await import("./routines.js")).run(file, name, opts));

program
  .command("server")
  .description(
    "Serve the HTTP API (runs, events live, approvals, rollbacks) until stopped; every request needs a token (docs/server.md).",
  )
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on (0: a free one)", "7310")
  .option("--max-failures <n>", "failed requests per client per minute before 429 (default 30)")
  .option("--max-requests <n>", "requests per client per minute before 429 (default 1200)")
  .option(
    "--runbook <file>",
    "a runbook POST /api/releases may start (repeatable)",
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .addOption(dataDir())
  .action(async (opts) => (await import("./server.js")).server(opts));

/** A repeatable option: `--role a --role b` → ["a", "b"]. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

const users = program
  .command("users")
  .description(
    "Manage who may act: identities, their roles and tokens. The first identity added is the administrator; after that these need an administrator's token.",
  );

users
  .command("add")
  .description(
    "Add an identity and print its token, once. Exit 12 without an administrator's token, 13 with another's.",
  )
  .argument("<name>", "who, e.g. ana or ana@example.com")
  .option("--role <role>", "a role (repeat for more)", collect)
  .option("--admin", "an administrator: may add, revoke and change identities")
  .option("--expires <duration>", "the token expires after this long, e.g. 90d (default never)")
  .option("--json", "print the result, token included, as JSON")
  .addOption(dataDir())
  .action(async (name: string, opts) => (await import("./users.js")).add(name, opts));

users
  .command("list")
  .description("List identities, their roles and their tokens' ids, dates and states (never a token).")
  .option("--json", "print as JSON")
  .addOption(dataDir())
  .action(async (opts) => (await import("./users.js")).list(opts));

users
  .command("token")
  .description("Make a new token for NAME and print it, once (an administrator, or NAME itself).")
  .argument("<name>", "whose token")
  .option("--expires <duration>", "the token expires after this long, e.g. 90d (default never)")
  .option("--json", "print the result, token included, as JSON")
  .addOption(dataDir())
  .action(async (name: string, opts) => (await import("./users.js")).token(name, opts));

users
  .command("revoke")
  .description("Revoke every token of NAME, or one token with --token ID.")
  .argument("[name]", "whose tokens")
  .option("--token <id>", "only this token (its id, as `gantry users list` shows it)")
  .option("--json", "print the result as JSON")
  .addOption(dataDir())
  .action(async (name: string | undefined, opts) => (await import("./users.js")).revoke(name, opts));

users
  .command("roles")
  .description("Add or remove roles of NAME.")
  .argument("<name>", "whose roles")
  .option("--add <role>", "a role to grant (repeat for more)", collect)
  .option("--remove <role>", "a role to take away (repeat for more)", collect)
  .option("--json", "print the result as JSON")
  .addOption(dataDir())
  .action(async (name: string, opts) => (await import("./users.js")).roles(name, opts));

program
  .command("whoami")
  .description("Who Gantry takes you for on this database: name, roles, administrator, and why.")
  .option("--as <name>", "the name you would give (only on a database without identities)")
  .option("--json", "print as JSON")
  .addOption(dataDir())
  .action(async (opts) => (await import("./users.js")).whoami(opts));

const notify = program
  .command("notify")
  .description("See what a runbook's messages say, and test its channels.");

notify
  .command("preview")
  .description(
    "Print the messages an event sends, filled with sample values (or a recorded run's with --run).",
  )
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "environment")
  .requiredOption("--event <event>", "event, e.g. rollback.started")
  .option("--run <id>", "fill in the values of this recorded run")
  .option("--json", "print the messages as JSON")
  .addOption(dataDir())
  .action(async (file: string, opts) => (await import("./notify.js")).preview(file, opts));

notify
  .command("test")
  .description("Send one test message through a channel. Exit 0 when the channel took it, 1 when not.")
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "environment (its secrets are used)")
  .requiredOption("--channel <name>", "channel (notify.channels.<name>)")
  .option("--as <name>", "who sends it (default $GANTRY_USER or $USER)")
  .option("--json", "print the result as JSON")
  .addOption(dataDir().hideHelp())
  .action(async (file: string, opts) => (await import("./notify.js")).test(file, opts));

program
  .command("schema")
  .description("Print the runbook JSON Schema (for editors and other tools).")
  .action(async () => (await import("./schema.js")).printSchema());

const audit = program
  .command("audit")
  .description("Verify the audit trail: every log (each run's, the actions log) is a hash chain.");

audit
  .command("verify")
  .description(
    "Recompute the hash chain of a run's log, or of every log and the actions log, and name the first record changed, removed or inserted. Exit 0 intact, 1 not.",
  )
  .argument("[run]", "run id, or gantry:actions (default: every log)")
  .option(
    "--anchor <file>",
    "also check the heads `gantry audit anchor` wrote (finds truncation, recomputed chains)",
  )
  .option("--json", "print the findings as JSON")
  .addOption(dataDir())
  .action(async (run: string | undefined, opts) => (await import("./audit.js")).verify(run, opts));

audit
  .command("anchor")
  .description(
    "Write the head hash and record count of every log (JSON), to keep where the database's users cannot write.",
  )
  .option("--file <file>", "write it here (default stdout); an earlier anchor in the file is checked first")
  .addOption(dataDir())
  .action(async (opts) => (await import("./audit.js")).anchor(opts));

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ExitError) return error.code;
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
      // `gantry` or `gantry migrations` without a verb prints the help and is a usage error.
      if (error.code === "commander.help") return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    if (error instanceof Refusal) {
      process.stderr.write(`gantry: ${error.message}\n`);
      for (const hint of error.hints) process.stderr.write(`${hint}\n`);
      return exitFor(error);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`gantry: ${error.message}\n`);
      return EXIT.usage;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(
      `gantry: internal error — this is a bug in Gantry, please report it with the output below.\n${detail}\n`,
    );
    return EXIT.internal;
  }
}

// A reader that goes away (`gantry plan … | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  });
}

// Deprecation notices from libraries are for their authors, not for people releasing software.
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (w.name !== "DeprecationWarning") process.stderr.write(`gantry: warning: ${w.message}\n`);
});

process.exitCode = await main(process.argv);
