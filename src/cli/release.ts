/**
 * `gantry release FILE --env NAME --ref REF [--detach] [--no-cache] [--json]`
 *
 * Validates and plans, refuses what this version cannot execute, then runs the release as a
 * durable workflow in this process (or, with --detach, queues it for `gantry worker`). The
 * exit code says how it ended: see OUTCOME_EXIT and docs/cli.md.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { userInfo } from "node:os";
import { startEngine } from "../engine/runtime.js";
import type { Outcome } from "../engine/state.js";
import type { RunInput, RunResult } from "../engine/workflow.js";
import { EXIT, ExitError } from "../errors.js";
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { DatabaseOptions } from "../store/database.js";
import { VERSION } from "../version.js";
import { err, json, out } from "./output.js";
import { loadAndPlan, type PlanCommandOptions } from "./plan.js";
import { followRun, openForVerb, refuseInterrupted } from "./runs.js";

export const OUTCOME_EXIT: Record<Outcome, number> = {
  released: EXIT.ok,
  gate_failed: 4,
  rolled_back: 5,
  aborted: 6,
  failed: 7,
};

export interface ReleaseOptions extends PlanCommandOptions, DatabaseOptions {
  detach?: boolean;
  cache?: boolean;
  as?: string;
}

export async function release(file: string, options: ReleaseOptions): Promise<void> {
  const plan = loadAndPlan(file, options);
  refuseUnrunnable(file, plan, options);
  const input: RunInput = {
    runId: newRunId(plan),
    file,
    source: fs.readFileSync(file, "utf8"),
    env: plan.environment,
    ref: plan.ref?.ref ?? options.ref ?? "",
    at: new Date().toISOString(),
    noCache: options.cache === false,
    operator: options.as ?? operator(),
  };
  if (options.detach) return detach(input, plan, options);

  const engine = await openForVerb(() =>
    startEngine({ ...options, verb: "release", beforeLaunch: (store) => refuseInterrupted(store) }),
  );
  try {
    await engine.store.append(input.runId, createdEvent(input, plan, false));
    const result = await followRun(engine, input.runId, () => engine.start(input), options.json);
    report(result, options.json);
    throw new ExitError(OUTCOME_EXIT[result.outcome]);
  } finally {
    await engine.close();
  }
}

function refuseUnrunnable(file: string, plan: ReleasePlan, options: ReleaseOptions): void {
  const problems: string[] = [];
  if (plan.notExecutable.length > 0) {
    const reason = `gantry ${VERSION} cannot execute these parts of ${file} yet: ${plan.notExecutable.join(", ")}. Nothing was run.`;
    if (options.json) json({ outcome: "not_executed", reason, notExecutable: plan.notExecutable });
    else err(reason);
    throw new ExitError(EXIT.unsupported);
  }
  if (!plan.ref) problems.push("--ref: say what to release, e.g. --ref v1.2.0");
  problems.push(...plan.blockers);
  if (!plan.window.open) {
    problems.push(
      `${plan.environment} is closed for deploys: ${plan.window.reason}${plan.window.nextOpen ? `; it next opens ${plan.window.nextOpen}` : ""}`,
    );
  }
  if (problems.length > 0) {
    for (const p of problems) err(`gantry: ${p}`);
    err("Nothing was run.");
    throw new ExitError(EXIT.invalid);
  }
}

async function detach(input: RunInput, plan: ReleasePlan, options: ReleaseOptions): Promise<void> {
  const control = await openForVerb(async () => (await import("../engine/runtime.js")).openControl(options));
  try {
    await control.store.append(input.runId, createdEvent(input, plan, true));
    await control.enqueue(input);
    const executor = await control.executor();
    if (options.json) json({ run: input.runId, outcome: "queued", worker: executor?.verb === "worker" });
    else {
      out(`queued run ${input.runId}: ${plan.runbook.service} ${input.ref} → ${input.env}`);
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

export function createdEvent(input: RunInput, plan: ReleasePlan, queued: boolean) {
  return {
    key: "created",
    kind: "run.created",
    data: {
      runbook: plan.runbook.name,
      service: plan.runbook.service,
      environment: plan.environment,
      ref: input.ref,
      version: plan.ref?.version ?? input.ref,
      file: input.file,
      operator: input.operator,
      queued,
      steps: plan.phases.flatMap((p) =>
        p.steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title, phase: p.name })),
      ),
    },
  };
}

export function report(result: RunResult, asJson: boolean | undefined): void {
  if (asJson) {
    json(result);
    return;
  }
  out(`${result.outcome}: ${result.reason}`);
  if (result.rollback?.detectionLatencyMs !== undefined) {
    out(
      `detection latency (rule window elapsed → rollback started): ${result.rollback.detectionLatencyMs} ms`,
    );
  }
}

function newRunId(plan: ReleasePlan): string {
  const version = (plan.ref?.version ?? "run").replace(/[^A-Za-z0-9._-]/g, "-");
  return `${plan.runbook.service}-${plan.environment}-${version}-${randomBytes(3).toString("hex")}`;
}

function operator(): string {
  return process.env.GANTRY_USER ?? process.env.USER ?? userInfo().username;
}
