/**
 * The plan's steps about time: the deployment-window checks (at the run's start and before
 * the deploy), the schedule's items (T-7d … T+7d) and the declaration of success.
 */
import type { EnvironmentSpec, Runbook } from "../schema/runbook.js";
import { named } from "./specs.js";
import type { PlanStep, ScheduleStep, WindowStep } from "./types.js";
import { describeWindow } from "./window.js";

export function successStep(success: NonNullable<Runbook["success"]>): PlanStep {
  return {
    id: "success",
    kind: "success",
    after: success.after,
    without: success.without,
    title: `declare success at T+${success.after.text}`,
    detail: `if no ${success.without.join("/")} rule fired`,
  };
}

/** The schedule's items whose offset `which` selects (before or after the deploy), in time order. */
export function scheduleSteps(runbook: Runbook, which: (ms: number) => boolean): ScheduleStep[] {
  return runbook.schedule
    .filter((s) => which(s.at.ms))
    .sort((a, b) => a.at.ms - b.at.ms)
    .map((s, i) => {
      const signoff = s.signoff ?? (s.tasks.length > 0 && s.owner !== undefined);
      const parts = [
        s.owner ? `owner ${s.owner}` : "",
        s.tasks.length ? `${s.tasks.length} task${s.tasks.length === 1 ? "" : "s"}` : "",
        s.checks.length ? `checks: ${s.checks.join(", ")}` : "",
        s.run ? `$ ${s.run}` : "",
        signoff ? "signed off" : "",
        s.remind ? `reminders every ${s.remind.text}` : "",
      ].filter(Boolean);
      return {
        id: `schedule:${s.at.text}:${i + 1}`,
        kind: "schedule" as const,
        offset: s.at,
        ...(s.owner ? { owner: { role: s.owner, members: runbook.roles[s.owner]?.members ?? [] } } : {}),
        tasks: s.tasks,
        checks: s.checks.filter((n) => runbook.checks[n]).map((name) => ({ name, ...named(runbook, name) })),
        ...(s.run ? { run: s.run } : {}),
        signoff,
        ...(s.remind ? { remind: s.remind } : {}),
        title: `${s.at.text} ${s.name}`,
        detail: parts.join("; ") || "a milestone",
      };
    });
}

/** The window check at the run's start or before the deploy: declared windows and freezes, and ad hoc freezes read then. */
export function windowStep(env: EnvironmentSpec, when: "start" | "deploy"): WindowStep {
  const rules = [
    env.windows.length > 0 ? `windows ${env.windows.map(describeWindow).join("; ")}` : "no windows",
    `${env.freezes.length} declared freeze${env.freezes.length === 1 ? "" : "s"} and any declared with gantry freeze`,
    env.override
      ? `override by ${env.override.count} of ${env.override.roles.join(" or ")}`
      : "no override: a closed window is waited for",
  ];
  return {
    id: `window:${when}`,
    kind: "window",
    when,
    windows: env.windows,
    freezes: env.freezes,
    ...(env.override ? { override: env.override } : {}),
    title: when === "start" ? "deployment window at the start" : "deployment window before the deploy",
    detail: rules.join("; "),
  };
}
