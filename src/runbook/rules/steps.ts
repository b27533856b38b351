/** Procedure steps say exactly one thing to do; providers and policies are complete. */
import type { Path } from "../diagnostics.js";
import { rollbackActions } from "../rollback-steps.js";
import { KINDS } from "../schema/runbook.js";
import type { RunbookRule } from "./context.js";

function oneAction(
  ctx: Parameters<RunbookRule>[0],
  path: Path,
  item: Record<string, unknown>,
  actions: readonly string[],
): void {
  const present = actions.filter((a) => item[a] !== undefined);
  if (present.length === 0) {
    ctx.error(path, `say what this step does with one of: ${actions.join(", ")}`);
  } else if (present.length > 1) {
    ctx.error(
      path,
      `one step does one thing; found ${present.join(" and ")} — split it into ${present.length} steps`,
    );
  }
  if (item.confirm !== undefined && item.by === undefined) {
    ctx.error([...path, "confirm"], "a confirmation needs `by: <role>`, the role whose member confirms");
  }
  if (item.by !== undefined && item.confirm === undefined) {
    ctx.error([...path, "by"], "`by` names who confirms; add `confirm: <statement>` or remove `by`");
  }
}

export const stepsDoOneThing: RunbookRule = (ctx) => {
  ctx.runbook.preflight.forEach((item, i) =>
    oneAction(ctx, ["preflight", i], item, ["check", "confirm", "run"]),
  );
  const actions = ["revert", "migrations", "run", "check", "notify", "confirm", "wait"];
  ctx.runbook.rollback?.steps.forEach((s, i) =>
    oneAction(ctx, ["rollback", "steps", i], s, [...actions, "choose"]),
  );
  // The steps of a choice's options: ordinary steps, without a choice of their own.
  for (const { path, step } of rollbackActions(ctx.runbook.rollback))
    if (path.includes("choose")) oneAction(ctx, path, step, actions);
  ctx.runbook.smoke.forEach((s, i) => {
    if ("type" in s && s.name === undefined) {
      ctx.error(["smoke", i], "a smoke test needs a `name` (shown in the plan, the log and reports)");
    }
  });
};

export const releaseKind: RunbookRule = (ctx) => {
  const { kind } = ctx.runbook;
  if (kind !== "release") {
    ctx.error(
      ["kind"],
      `kind \`${kind}\` is an operations runbook, which this version of Gantry does not read yet; supported now: release (reserved: ${KINDS.filter((k) => k !== "release").join(", ")})`,
    );
    return;
  }
  if (!ctx.runbook.deploy)
    ctx.error([], "a release runbook needs a `deploy` section: how the release is deployed and rolled back");
  if (Object.keys(ctx.runbook.environments).length === 0) {
    ctx.error(["environments"], "declare at least one environment to release to");
  }
};

export const releasePolicy: RunbookRule = (ctx) => {
  const raw = (ctx.raw as { release?: Record<string, unknown> }).release;
  if (raw && raw.tags !== undefined && raw.commit !== undefined) {
    ctx.error(
      ["release", "commit"],
      "set either `tags` (release any matching tag) or `commit` (pin one commit), not both",
    );
  }
  if (raw && raw.tags === undefined && raw.commit === undefined) {
    ctx.error(["release"], "say which refs may be released: `tags: v*` or `commit: <sha>`");
  }
};

export const migrationsComplete: RunbookRule = (ctx) => {
  const m = ctx.runbook.migrations;
  if (!m) return;
  if (m.runner === "command" && !m.command) {
    ctx.error(
      ["migrations", "runner"],
      "runner `command` needs `migrations.command.apply`, the command that applies one migration",
    );
  }
  if (m.runner === "sql" && m.command) {
    ctx.error(
      ["migrations", "command"],
      "`command` is used only with `runner: command`; remove it or set the runner",
    );
  }
  if (m.rollback.strategy === "restore" && !m.rollback.restore) {
    ctx.error(
      ["migrations", "rollback", "strategy"],
      "strategy `restore` needs `migrations.rollback.restore`, the restore command",
    );
  }
  if (m.contract?.match !== undefined && m.assign === "analysis") {
    ctx.error(
      ["migrations", "contract", "match"],
      "with `assign: analysis` the phase comes from the SQL; remove contract.match or use assign: pattern",
    );
  }
  if (m.contract && m.contract.match === undefined && m.assign === "pattern") {
    ctx.error(
      ["migrations", "contract"],
      "say which files are contract migrations with `match:`, or set `assign: analysis`",
    );
  }
  for (const [name, env] of Object.entries(ctx.runbook.environments)) {
    if (!env.database) {
      ctx.error(
        ["environments", name],
        "migrations apply to each environment's database: add `database: { url: … }` (the ledger of applied files lives there)",
      );
    }
  }
  const steps = [...rollbackActions(ctx.runbook.rollback)];
  steps.forEach(({ path, step: s }) => {
    if (s.migrations === "restore" && !m.rollback.restore) {
      ctx.error(
        [...path, "migrations"],
        "`migrations: restore` needs `migrations.rollback.restore`, the command that restores the backup",
      );
    }
  });
  if (!steps.some(({ step }) => step.migrations !== undefined)) {
    ctx.warn(
      ["migrations"],
      "the rollback procedure has no `migrations:` step; a rollback would leave this release's schema changes in place",
    );
  }
};

export const backupComplete: RunbookRule = (ctx) => {
  const b = ctx.runbook.backup;
  if (b?.maxAge && !b.latest) {
    ctx.error(
      ["backup", "maxAge"],
      "`maxAge` needs `latest`, a command printing the latest backup's time (ISO 8601)",
    );
  }
  if (b?.file && !b.run) ctx.error(["backup", "file"], "`file` is where `run` writes the backup; add `run`");
  for (const { path, step: s } of rollbackActions(ctx.runbook.rollback)) {
    if (s.migrations !== undefined && !ctx.runbook.migrations) {
      ctx.error([...path, "migrations"], "there is no `migrations` section whose migrations to undo");
    }
  }
};

export const deployComplete: RunbookRule = (ctx) => {
  const deploy = ctx.runbook.deploy;
  if (!deploy || deploy.canary.length === 0) return;
  let last = 0;
  deploy.canary.forEach((step, i) => {
    if (step.weight <= last)
      ctx.error(["deploy", "canary", i, "weight"], "canary weights must increase step by step");
    last = step.weight;
  });
  if (last < 1)
    ctx.warn(
      ["deploy", "canary"],
      `the last canary step sends ${Math.round(last * 1000) / 10}% of traffic; Gantry promotes to 100% right after its hold (write the 100% step to say so)`,
    );
};

export const rollbackPresent: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  if (rb.kind !== "release") return;
  const rollsBack = rb.monitor?.rules.some((r) => rb.monitor?.tiers[r.severity]?.action === "rollback");
  if (rollsBack && !rb.rollback) {
    ctx.warn(
      ["monitor", "rules"],
      "rules can roll back, but there is no `rollback` procedure; Gantry will only revert the deploy",
    );
  }
};

/** Every probe of the runbook with its path: named checks, smoke tests and monitored signals. */
function* probes(ctx: Parameters<RunbookRule>[0]): Generator<[Path, Record<string, unknown>]> {
  for (const [name, p] of Object.entries(ctx.runbook.checks)) yield [["checks", name], p];
  for (const [i, s] of ctx.runbook.smoke.entries()) if ("type" in s) yield [["smoke", i], s];
  for (const [name, p] of Object.entries(ctx.runbook.monitor?.signals ?? {}))
    yield [["monitor", "signals", name], p];
}

export const metricsReadOneValue: RunbookRule = (ctx) => {
  for (const [path, p] of probes(ctx)) {
    if (p.type !== "metrics") continue;
    const present = ["gauge", "rate", "ratio"].filter((k) => p[k] !== undefined);
    if (present.length !== 1) {
      ctx.error(
        path,
        present.length === 0
          ? "say what to read from the metrics: `gauge: <metric>`, `rate: <counter>` or `ratio: {numerator, denominator}`"
          : `read one value per probe; found ${present.join(" and ")} — split it into ${present.length} probes`,
      );
    }
  }
};
