/**
 * `gantry release FILE --env NAME --ref REF [--detach] [--no-cache] [--json]`
 *
 * Validates and plans; the application layer refuses what cannot run now (parts this version
 * cannot execute, a ref refused, a closed window); then the release runs as a durable workflow
 * in this process (or, with --detach, is queued for `gantry worker`). The exit code says how
 * it ended: see src/cli/exit.ts and docs/cli.md.
 */
import fs from "node:fs";
import { grantOverride } from "../app/freezes.js";
import { asOption, type Identity, identify } from "../app/identity.js";
import { Refusal } from "../app/refusal.js";
import { createdEvent, prepareRelease, queueRelease, startedBy } from "../app/release.js";
import { refuseInterrupted } from "../app/runs.js";
import { openControl } from "../engine/control.js";
import { startEngine } from "../engine/runtime.js";
import type { RunInput } from "../engine/types.js";
import { ExitError } from "../errors.js";
import type { DatabaseOptions } from "../store/database.js";
import { followRun, openForVerb } from "./executor.js";
import { exitFor, OUTCOME_EXIT } from "./exit.js";
import { err, json, out } from "./output.js";
import { loadAndPlan, type PlanCommandOptions } from "./plan.js";
import { report } from "./report.js";
import { afterRun } from "./reports.js";

export interface ReleaseOptions extends PlanCommandOptions, DatabaseOptions {
  detach?: boolean;
  cache?: boolean;
  as?: string;
  /** The reason for deploying while the window is closed (by a member of the override role). */
  override?: string;
}

export async function release(file: string, options: ReleaseOptions): Promise<void> {
  const { plan, runbook } = loadAndPlan(file, options);
  let input: RunInput;
  try {
    input = prepareRelease({
      file,
      source: fs.readFileSync(file, "utf8"),
      runbook,
      plan,
      noCache: options.cache === false,
      ...(options.as !== undefined ? { as: options.as } : {}),
      ...(options.override !== undefined ? { override: true } : {}),
    });
  } catch (e) {
    if (e instanceof Refusal && options.json && e.kind === "unsupported") {
      json({ outcome: "not_executed", reason: e.message, ...e.data });
      throw new ExitError(exitFor(e));
    }
    throw e;
  }
  if (options.detach) return detach(input, options);

  const engine = await openForVerb(() =>
    startEngine({ ...options, verb: "release", beforeLaunch: (store) => refuseInterrupted(store) }),
  );
  try {
    input = actingAs(input, await identify(engine.db.pool, asOption(options)), options);
    await engine.store.append(input.runId, createdEvent(input, false));
    const result = await followRun(engine, input.runId, () => engine.start(input), options.json);
    report(result, options.json);
    await afterRun(engine, input.runId, result.outcome, { summary: true });
    throw new ExitError(OUTCOME_EXIT[result.outcome]);
  } finally {
    await engine.close();
  }
}

/** The run as started by `who`, with the override it gave when it asked for one. */
function actingAs(input: RunInput, who: Identity, options: ReleaseOptions): RunInput {
  const started = startedBy(input, who);
  if (options.override === undefined) return started;
  return { ...started, plan: grantOverride(started.plan, who, options.override) };
}

async function detach(input: RunInput, options: ReleaseOptions): Promise<void> {
  const control = await openForVerb(() => openControl(options));
  try {
    const queued = await queueRelease(
      control,
      input,
      await identify(control.db.pool, asOption(options)),
      options.override,
    );
    input = queued.input;
    const executor = queued.executor;
    if (options.json) json({ run: input.runId, outcome: "queued", worker: executor?.verb === "worker" });
    else {
      out(`queued run ${input.runId}: ${input.plan.runbook.service} ${input.ref} → ${input.env}`);
      err(
        executor?.verb === "worker"
          ? `a worker (pid ${executor.pid}) will run it; follow it with: gantry status ${input.runId}`
          : "no worker is running: start one with `gantry worker` to run it",
      );
    }
  } finally {
    await control.close();
  }
}
