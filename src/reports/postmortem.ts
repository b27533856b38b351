/**
 * The postmortem draft of a rollback, in the sections of seed 002's template (timeline, root
 * cause, impact, what went well and poorly, action items, lessons learned). What the event log
 * knows is filled in: the timeline from the deploy to the completed rollback, when the defect
 * was first seen and when the rule fired, the rule and the values that fired it, what was
 * rolled back and to which version, what the database rollback lost, the durations against
 * their targets. What only people know is left as a marked prompt.
 */
import { escapeMarkdown as md } from "./escape.js";
import { clock, duration, value } from "./format.js";
import { section, stepTable, table, targetTable } from "./markdown.js";
import type { ReleaseRecord, VerdictRecord } from "./record.js";

/** How a part for people to write is marked, so nobody mistakes it for a recorded fact. */
export const PROMPT = "> ✍️ **To fill in:**";

export function renderPostmortem(r: ReleaseRecord): string {
  const fired = firedVerdict(r);
  const deploy = r.timeline.find((s) => s.kind === "deploy");
  const done = r.rollback?.finishedAt ?? null;
  const span = deploy?.startedAt && done ? Date.parse(done) - Date.parse(deploy.startedAt) : null;
  const severity = fired?.severity ?? r.incidents[0]?.severity ?? null;
  const commander = r.handoffs.at(-1)?.to;
  return [
    `# Incident Postmortem: ${md(`${r.service} ${r.version}`)} Rollback`,
    [
      `**Date**: ${md((deploy?.startedAt ?? r.createdAt).slice(0, 10))}  `,
      `**Incident Commander**: ${commander ? md(commander) : `_to fill in_ (the release was run by ${md(r.operator.name)})`}  `,
      `**Severity**: ${severity ? md(severity) : "_to fill in_"}${r.incidents[0] ? ` (incident ${md(r.incidents[0].incident)})` : ""}  `,
      `**Duration**: ${span === null ? "—" : `${md(duration(span))} from the deployment to the rollback complete`}  `,
      "**Customer Impact**: _to fill in_",
    ].join("\n"),
    `_Drafted by Gantry from the event log of run ${md(r.run)} (${md(r.environment)}). The facts below were recorded as they happened; every part marked “To fill in” is for people to write._`,
    section("Timeline", timeline(r, fired)),
    section("Detection", detection(r, fired)),
    section("What Was Rolled Back", rolledBack(r)),
    section(
      "Durations Against Targets",
      r.targets.length ? targetTable(r.targets) : "No targets were recorded.",
    ),
    section("Root Cause", `${PROMPT} a detailed explanation of what caused the failure.`),
    section("Impact", impact(r, deploy?.finishedAt ?? null)),
    section("What Went Well", `${PROMPT} what worked well during the response.\n\n${hints(wentWell(r))}`),
    section("What Went Poorly", `${PROMPT} areas for improvement.\n\n${hints(wentPoorly(r))}`),
    section("Action Items", `- [ ] ${PROMPT.slice(2)} an action item, with its owner and due date\n- [ ] …`),
    section("Lessons Learned", `${PROMPT} key takeaways and preventive measures.`),
  ]
    .join("\n\n")
    .replace(/\n{3,}/g, "\n\n")
    .concat("\n");
}

/** The verdict that rolled the release back, when a rule did. */
function firedVerdict(r: ReleaseRecord): VerdictRecord | undefined {
  return r.verdicts.find((v) => v.state === "fired" && !v.watch && v.action === "rollback");
}

function timeline(r: ReleaseRecord, fired: VerdictRecord | undefined): string {
  const entries: Array<[string, string]> = [];
  const from = r.timeline.find((s) => s.kind === "deploy")?.startedAt ?? r.createdAt;
  for (const s of r.timeline) {
    if (!s.startedAt || s.startedAt < from || s.phase === "rollback") continue;
    if (s.kind === "deploy") {
      entries.push([s.startedAt, `Deployment of ${r.version} started`]);
      if (s.finishedAt) entries.push([s.finishedAt, `Deployment ${s.status}: ${s.message ?? ""}`]);
    } else if (s.finishedAt)
      entries.push([s.finishedAt, `${s.title}: ${s.status}${s.message ? ` — ${s.message}` : ""}`]);
  }
  const first = fired ? firstInBreach(r, fired) : undefined;
  if (first) entries.push([first.at, `Issue first detected: rule ${first.rule} in breach — ${first.text}`]);
  if (fired) entries.push([r.rollback?.detectedAt ?? fired.at, `Rule ${fired.rule} fired: ${fired.text}`]);
  if (r.rollback) {
    entries.push([
      r.rollback.startedAt,
      `Rollback started (decision made): to ${r.rollback.to ?? "the last known good version"} — ${r.rollback.reason}`,
    ]);
    for (const s of r.rollback.steps)
      if (s.finishedAt)
        entries.push([
          s.finishedAt,
          `Rollback step ${s.title}: ${s.status}${s.message ? ` — ${s.message}` : ""}`,
        ]);
    if (r.rollback.finishedAt)
      entries.push([
        r.rollback.finishedAt,
        `Rollback completed${r.rollback.ok === false ? " (not verified healthy)" : ""}`,
      ]);
  }
  for (const l of r.losses) entries.push([l.at, `Database rollback (${l.strategy}): ${l.statement}`]);
  for (const i of r.incidents) {
    for (const m of i.met)
      entries.push([
        m.at,
        `${i.severity} ${i.incident}: ${m.target} target met after ${duration(m.ms)}${m.by ? ` (${m.by})` : ""}`,
      ]);
    for (const b of i.breached) entries.push([b.at, b.message]);
  }
  for (const h of r.handoffs)
    entries.push([h.at, `Incident command handed from ${h.from} to ${h.to}${h.note ? `: ${h.note}` : ""}`]);
  if (r.finishedAt) entries.push([r.finishedAt, `Run ended: ${r.outcome ?? r.status}`]);
  entries.sort(([a], [b]) => Date.parse(a) - Date.parse(b));
  return entries.map(([at, what]) => `- **${md(clock(at))}** ${md(what)}`).join("\n");
}

/** The first sample of the firing rule's breach: the verdict after its last "ok". */
function firstInBreach(r: ReleaseRecord, fired: VerdictRecord): VerdictRecord | undefined {
  const mine = r.verdicts.filter((v) => v.rule === fired.rule && v.sample <= fired.sample);
  return mine.find((v) => v.state === "pending") ?? fired;
}

function detection(r: ReleaseRecord, fired: VerdictRecord | undefined): string {
  if (!fired) {
    const failed = r.timeline.find((s) => s.status === "failed" && s.phase !== "rollback");
    return [
      `No monitoring rule fired. The rollback was started because: ${md(r.rollback?.reason ?? r.reason ?? "—")}`,
      failed ? `The step that failed: ${md(failed.id)} — ${md(failed.message ?? "")}` : "",
    ]
      .filter(Boolean)
      .join("\n\n");
  }
  const rule = r.signals.flatMap((s) => s.rules).find((x) => x.name === fired.rule);
  const t = r.monitor ? Date.parse(r.monitor.t) : undefined;
  const first = firstInBreach(r, fired)!;
  const samples = r.verdicts.filter(
    (v) => v.rule === fired.rule && v.sample >= first.sample && v.sample <= fired.sample,
  );
  const lines = [
    `- **Rule**: ${md(fired.rule)}${rule ? ` — \`${rule.when.replaceAll("`", "'")}\` for ${md(duration(rule.forMs))}` : ""}, severity ${md(fired.severity ?? rule?.severity ?? "—")}, action ${md(fired.action ?? "—")}`,
    `- **Fired on**: ${md(fired.text)}`,
    `- **Value that fired it**: ${md(value(fired.value))} (${md(fired.subject ?? "")}, sample ${fired.sample})`,
  ];
  if (t !== undefined) {
    lines.push(
      `- **Time to detection**: first sample in breach ${md(duration(Date.parse(first.at) - t))} after T (the end of the deploy); the rule fired ${md(duration(Date.parse(r.rollback?.detectedAt ?? fired.at) - t))} after T`,
    );
  }
  if (r.rollback?.detectionLatencyMs !== null && r.rollback?.detectionLatencyMs !== undefined)
    lines.push(
      `- **Detection latency** (rule window elapsed → rollback started): ${md(duration(r.rollback.detectionLatencyMs))}`,
    );
  return [
    lines.join("\n"),
    table(
      ["Sample", "At", "Value", "Verdict"],
      samples.map((v) => [String(v.sample), clock(v.at), value(v.value), `${v.state}: ${v.text}`]),
    ),
  ].join("\n\n");
}

function rolledBack(r: ReleaseRecord): string {
  const b = r.rollback;
  if (!b) return "No rollback was recorded.";
  const parts = [
    `${md(r.service)} ${md(r.version)} was rolled back to **${md(b.to ?? r.previousVersion ?? "the last known good version")}** in ${md(r.environment)}. Reason: ${md(b.reason)}`,
  ];
  if (b.steps.length) parts.push(stepTable(b.steps));
  if (b.problems.length) parts.push(b.problems.map((p) => `- problem: ${md(p)}`).join("\n"));
  return parts.join("\n\n");
}

function impact(r: ReleaseRecord, deployedAt: string | null): string {
  const served =
    deployedAt && r.rollback?.finishedAt
      ? `${md(r.version)} served from ${md(clock(deployedAt))} until the rollback completed at ${md(clock(r.rollback.finishedAt))} (${md(duration(Date.parse(r.rollback.finishedAt) - Date.parse(deployedAt)))}).`
      : "";
  const unobserved = r.unobservedMs
    ? ` Monitoring did not observe the release for ${md(duration(r.unobservedMs))}.`
    : "";
  const loss = r.losses.length
    ? r.losses
        .map(
          (l) =>
            `${md(l.statement)}${l.applied.length ? ` (migrations ${md(l.applied.join(", "))})` : ""}${l.losesData ? " — data was lost" : ""}`,
        )
        .join("; ")
    : "no database rollback ran in this release, so none was recorded as lost";
  return [
    `- **Users Affected**: _to fill in_`,
    `- **Revenue Impact**: _to fill in, if applicable_`,
    `- **Data Loss**: ${loss}`,
    `- **Availability**: _to fill in_. ${served}${unobserved}`,
  ].join("\n");
}

/** Recorded facts that may belong in "what went well". */
function wentWell(r: ReleaseRecord): string[] {
  return [
    ...r.targets
      .filter((t) => t.met === true)
      .map((t) => `${t.what}: ${duration(t.ms)}, within ${duration(t.targetMs)}`),
    ...(r.rollback?.ok
      ? [`the rollback to ${r.rollback.to ?? "the previous version"} was verified serving and healthy`]
      : []),
  ];
}

/** Recorded facts that may belong in "what went poorly". */
function wentPoorly(r: ReleaseRecord): string[] {
  return [
    ...r.targets
      .filter((t) => t.met === false)
      .map((t) => `${t.what}: ${duration(t.ms)}, over ${duration(t.targetMs)}`),
    ...r.incidents.flatMap((i) => i.breached.map((b) => b.message)),
    ...r.messages
      .filter((m) => m.state === "failed")
      .map((m) => `message ${m.event} to ${m.channel} not delivered: ${m.detail ?? ""}`),
    ...r.gaps.map((g) => `monitoring saw nothing for ${duration(g.ms)} from ${clock(g.from)}`),
    ...(r.rollback?.ok === false ? ["the rollback could not be verified healthy"] : []),
  ];
}

function hints(facts: string[]): string {
  if (!facts.length) return "";
  return `Recorded facts that may belong here:\n\n${facts.map((f) => `- ${md(f)}`).join("\n")}`;
}
