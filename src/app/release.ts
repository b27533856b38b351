/**
 * Creating a release: the rules a plan must meet before anything runs (executable by this
 * version, a ref, no blocker, an open window), and the run as it is stored: its input (the
 * runbook's text and the plan the engine will execute) and its `run.created` event.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import type { Control } from "../engine/control.js";
import type { RunInput } from "../engine/types.js";
import { ENGINE_VERSION } from "../engine/version.js";
import { formatDiagnostic } from "../runbook/diagnostics.js";
import { loadRunbookText } from "../runbook/load.js";
import { plan } from "../runbook/plan/plan.js";
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import type { NewEvent } from "../store/events.js";
import { VERSION } from "../version.js";
import { notExecutable } from "./capabilities.js";
import { grantOverride } from "./freezes.js";
import type { Identity } from "./identity.js";
import { Refusal } from "./refusal.js";
import { operator } from "./runs.js";

export interface ReleaseRequest {
  file: string;
  /** The runbook's text as read, and as validated. */
  source: string;
  runbook: Runbook;
  plan: ReleasePlan;
  noCache?: boolean;
  as?: string;
  /** Started with `--override REASON`: a closed window does not refuse it here; the override is checked once the person is known. */
  override?: boolean;
}

/**
 * Reads and plans `file` for a release of `ref` to `env`, now: for callers that cannot print
 * the runbook's diagnostics as they go (the HTTP API). An invalid runbook is refused with
 * its errors, each with its position.
 */
export function loadRelease(
  file: string,
  options: { env: string; ref: string },
): { runbook: Runbook; plan: ReleasePlan; source: string } {
  let source: string;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Refusal("blocked", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const loaded = loadRunbookText(source, file);
  if (!loaded.runbook) {
    const errors = loaded.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    throw new Refusal("blocked", `${file} is invalid:\n${errors.join("\n")}`, [`gantry validate ${file}`]);
  }
  const planned = plan(loaded.runbook, {
    env: options.env,
    ref: options.ref,
    at: new Date().toISOString(),
    atGiven: false,
    file,
  });
  if (!planned.ok) throw new Refusal("blocked", `env: ${planned.message}`);
  return { runbook: loaded.runbook, plan: planned.plan, source };
}

/** Refuses a release that cannot run now; otherwise returns the run's input. Nothing is stored. */
export function prepareRelease(request: ReleaseRequest): RunInput {
  const { plan, file } = request;
  const missing = notExecutable(plan, {
    schedule: request.runbook.schedule.length,
    channels: request.runbook.notify?.channels ?? {},
  });
  if (missing.length > 0) {
    throw new Refusal(
      "unsupported",
      `gantry ${VERSION} cannot execute these parts of ${file} yet: ${missing.join(", ")}. Nothing was run.`,
      [],
      { notExecutable: missing },
    );
  }
  const problems: string[] = [];
  if (!plan.ref) problems.push("--ref: say what to release, e.g. --ref v1.2.0");
  problems.push(...plan.blockers);
  if (problems.length > 0) throw new Refusal("blocked", problems.join("\n"), ["Nothing was run."]);
  // With schedule items before the deploy, the run starts days ahead: the engine judges the window at T.
  const scheduled = plan.phases.some((p) => p.name === "schedule");
  if (!plan.window.open && !request.override && !scheduled) {
    throw new Refusal(
      "window-closed",
      `${plan.environment} is closed for deploys: ${plan.window.reason}${plan.window.nextOpen ? `; it next opens ${plan.window.nextOpen}` : ""}`,
      ["Nothing was run."],
    );
  }
  return {
    runId: newRunId(plan),
    file,
    source: request.source,
    env: plan.environment,
    ref: plan.ref!.ref,
    at: new Date().toISOString(),
    noCache: request.noCache ?? false,
    operator: operator(request.as),
    plan,
  };
}

/**
 * Queues the run for a worker (`release --detach`, the HTTP API), as started by `who`, with
 * the override they gave, if any. Returns the executor running now, if one is.
 */
export async function queueRelease(control: Control, input: RunInput, who: Identity, override?: string) {
  let started = startedBy(input, who);
  if (override !== undefined) started = { ...started, plan: grantOverride(started.plan, who, override) };
  await control.store.append(started.runId, createdEvent(started, true));
  await control.enqueue(started);
  return { input: started, executor: await control.executor() };
}

/** The run's input as started by `who`: the name recorded as its operator, and whether it was authenticated. */
export function startedBy(input: RunInput, who: Identity): RunInput {
  return { ...input, operator: who.name, authenticated: who.authenticated };
}

/** The first event of a run: what it releases where, its plan's steps, and the engine that runs it. */
export function createdEvent(input: RunInput, queued: boolean): NewEvent {
  const plan = input.plan;
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
      authenticated: input.authenticated === true,
      roles: plan.roles,
      ...(plan.rollbackBy ? { rollbackBy: plan.rollbackBy } : {}),
      ...(plan.rollbackCount ? { rollbackCount: plan.rollbackCount } : {}),
      queued,
      engine: ENGINE_VERSION,
      steps: plan.phases.flatMap((p) =>
        p.steps.map((s) => ({
          id: s.id,
          kind: s.kind,
          title: s.title,
          phase: p.name,
          ...(s.kind === "schedule" ? { at: s.offset.text, owner: s.owner?.role ?? null } : {}),
        })),
      ),
    },
  };
}

function newRunId(plan: ReleasePlan): string {
  const version = (plan.ref?.version ?? "run").replace(/[^A-Za-z0-9._-]/g, "-");
  return `${plan.runbook.service}-${plan.environment}-${version}-${randomBytes(3).toString("hex")}`;
}
