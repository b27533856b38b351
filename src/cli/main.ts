/**
 * The `gantry` binary. Commands are loaded only when run, so `gantry --help` stays fast.
 * This is the one place errors are caught: ExitError carries the exit code of a command
 * that already printed its message; UsageError is the user's; anything else is a bug.
 */
import { Command, CommanderError, Option } from "commander";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { VERSION } from "../version.js";

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

program
  .command("release")
  .description(
    "Run a release. This version validates and plans, then says which sections it cannot execute yet.",
  )
  .argument("<file>", "runbook file")
  .requiredOption("--env <name>", "target environment")
  .option("--ref <ref>", "tag or commit to release")
  .addOption(new Option("--json", "print the result as JSON"))
  .action(async (file: string, opts) => (await import("./release.js")).release(file, opts));

program
  .command("schema")
  .description("Print the runbook JSON Schema (for editors and other tools).")
  .action(async () => (await import("./schema.js")).printSchema());

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ExitError) return error.code;
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        return EXIT.ok;
      }
      return EXIT.usage;
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

process.exitCode = await main(process.argv);
