/** The plan as text for a terminal. The JSON form is the ReleasePlan object itself. */
import { describePaging } from "./on-call.js";
import type { ReleasePlan } from "./types.js";

/** `notExecutable`: the parts this version of Gantry cannot execute (the caller knows them; planning does not). */
export function renderPlan(plan: ReleasePlan, notExecutable: string[] = []): string {
  const out: string[] = [];
  const version = plan.ref
    ? `${plan.ref.version}${plan.ref.rc ? " (release candidate)" : ""}`
    : plan.requestedRef !== undefined
      ? `${plan.requestedRef} (refused)`
      : "<ref not given>";
  out.push(`Plan: ${plan.runbook.service} ${version} → ${plan.environment}   (${plan.runbook.file})`);
  if (plan.ref) out.push(`Ref: ${plan.ref.ref} (${plan.ref.kind})`);
  const when = plan.at ? `at ${plan.at}` : "now";
  const window = plan.window.open
    ? `open ${when} — ${plan.window.reason}`
    : `closed ${when} — ${plan.window.reason}`;
  out.push(`Window: ${window}`);
  if (!plan.window.open) out.push(`        next opens ${plan.window.nextOpen ?? "not within a year"}`);
  if (plan.timeScale)
    out.push(
      `Time: compressed ${plan.timeScale}× (environments.${plan.environment}.timeScale): every time on the timeline below is ${plan.timeScale} times shorter when it runs; timeouts are not`,
    );
  for (const b of plan.blockers) out.push(`Blocked: ${b}`);
  out.push("");
  plan.phases.forEach((phase, i) => {
    out.push(`${i + 1}. ${phase.name}`);
    for (const step of phase.steps) {
      const parallel =
        step.kind === "gate" && step.parallelGroup !== undefined ? ` [parallel ${step.parallelGroup}]` : "";
      out.push(`   - ${step.title}${parallel}${step.detail ? `  — ${step.detail}` : ""}`);
    }
  });
  if (plan.monitor) {
    out.push("", `Monitoring (sample every ${plan.monitor.interval})`);
    for (const s of plan.monitor.signals) out.push(`   signal ${s}`);
    for (const r of plan.monitor.rules) out.push(`   rule   ${r}`);
  }
  if (plan.timeline.length > 0) {
    out.push("", "Timeline (T = the deploy)");
    const width = Math.max(...plan.timeline.map((e) => e.at.length));
    for (const e of plan.timeline) {
      const time = e.time ? `  ${e.time}` : "";
      out.push(`   ${e.at.padEnd(width)}${time}  ${e.what.join("; ")}`);
    }
  }
  if (plan.rollback) {
    out.push("", `Rollback (target ${plan.rollback.target} from detection to done)`);
    plan.rollback.steps.forEach((s, i) => {
      out.push(`   ${i + 1}. ${s.title}${s.detail ? `  — ${s.detail}` : ""}`);
      if (s.form !== "choose") return;
      for (const o of s.choice.options) {
        const marks = [o.when ? `when ${o.when.text}` : "", o.name === s.choice.default ? "default" : ""];
        const how = marks.filter(Boolean).join("; ");
        out.push(`      ${o.name}${how ? ` [${how}]` : ""}${o.description ? `: ${o.description}` : ""}`);
        for (const step of o.steps)
          out.push(`        - ${step.title}${step.detail ? `  — ${step.detail}` : ""}`);
      }
    });
  }
  if (plan.paging) {
    out.push(
      "",
      "Paging (who answers when; a rule without a component pages its severity's slas escalation)",
    );
    for (const line of describePaging(plan.paging)) out.push(`   ${line}`);
  }
  if (plan.notifications.length > 0) {
    out.push("", "Notifications");
    for (const n of plan.notifications) out.push(`   ${n}`);
  }
  if (notExecutable.length > 0) {
    out.push("", `Not executable by this version of Gantry: ${notExecutable.join(", ")}`);
  }
  return out.join("\n");
}
