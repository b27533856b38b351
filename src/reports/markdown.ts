/**
 * The release record in Markdown (`gantry report RUN`): what was released where, by whom,
 * every step, gate, smoke test, check and checkpoint, the decisions with their evidence, the
 * rollback, the durations against their targets and the messages sent. The parts here are
 * also what the job summary and the postmortem draft are made of.
 */
import { escapeMarkdown as md } from "./escape.js";
import { clock, duration, rollbackRows, value, when } from "./format.js";
import type { DecisionRecord, ReleaseRecord, StepRecord, TargetRecord } from "./record.js";

export function renderMarkdown(r: ReleaseRecord): string {
  return [
    `# Release record: ${md(`${r.service} ${r.version} → ${r.environment}`)}`,
    outcomeLine(r),
    facts(r),
    section("Timeline", stepTable(r.timeline, true)),
    section("Gates", r.gates.length ? stepTable(r.gates) : "No gates ran."),
    section("Smoke tests", r.smoke.length ? stepTable(r.smoke) : "No smoke tests ran."),
    r.checks.length ? section("Checks", stepTable(r.checks)) : "",
    r.checkpoints.length ? section("Checkpoints", checkpoints(r)) : "",
    r.monitor ? section("Monitoring", monitoring(r)) : "",
    r.decisions.length ? section("Decisions and approvals", r.decisions.map(decision).join("\n\n")) : "",
    r.checklists.length ? section("Checklists", checklists(r)) : "",
    r.rollback ? section("Rollback", rollback(r)) : "",
    r.targets.length ? section("Durations against targets", targetTable(r.targets)) : "",
    r.incidents.length ? section("Incidents", incidents(r)) : "",
    r.handoffs.length ? section("Handoffs", handoffs(r)) : "",
    section("Messages", messages(r)),
  ]
    .filter((part) => part !== "")
    .join("\n\n")
    .concat("\n");
}

/** `**rolled_back**: error_rate 0.342 > 0.05 for 2s (P0) → rolled back to 1.0.0` */
export function outcomeLine(r: ReleaseRecord): string {
  return r.outcome
    ? `**${md(r.outcome)}**: ${md(r.reason ?? "")}`
    : `**${md(r.status)}**: the run has not finished.`;
}

/** What was released where, by whom and when. */
export function facts(r: ReleaseRecord): string {
  const version = `${r.version} (ref ${r.ref}${r.sha ? `, commit ${r.sha}` : ""})`;
  return table(
    ["", ""],
    [
      ["Run", r.run],
      ["Service", r.service],
      ["Environment", r.environment],
      ["Version", version],
      ["Previous version", r.previousVersion ?? "none"],
      ["Operator", `${r.operator.name}${r.operator.authenticated ? "" : " (not authenticated)"}`],
      ["Approvers", r.approvers.length ? r.approvers.join(", ") : "none"],
      ["Created", when(r.createdAt)],
      ["Finished", when(r.finishedAt)],
      ["Duration", duration(r.durationMs)],
    ],
  );
}

export function stepTable(steps: StepRecord[], phases = false): string {
  const head = phases
    ? ["Step", "Phase", "Status", "Started", "Ended", "Took", "Message"]
    : ["Name", "Status", "Started", "Took", "Message"];
  return table(
    head,
    steps.map((s) =>
      phases
        ? [
            s.id,
            s.phase,
            s.status,
            clock(s.startedAt),
            clock(s.finishedAt),
            duration(s.durationMs),
            s.message ?? "",
          ]
        : [s.title, s.status, clock(s.startedAt), duration(s.durationMs), s.message ?? ""],
    ),
  );
}

export function targetTable(targets: TargetRecord[]): string {
  return table(
    ["What", "Took", "Target", "Met"],
    targets.map((t) => [
      t.what,
      duration(t.ms),
      t.targetMs === null ? "—" : duration(t.targetMs),
      t.met === null ? "—" : t.met ? "yes" : "no",
    ]),
  );
}

function checkpoints(r: ReleaseRecord): string {
  return table(
    ["Checkpoint", "Status", "Ended", "Values", "Message"],
    r.checkpoints.map((c) => [
      c.title,
      c.status,
      clock(c.finishedAt),
      c.values.map((v) => `${v.signal} ${value(v.value)}`).join(", "),
      c.message ?? "",
    ]),
  );
}

function monitoring(r: ReleaseRecord): string {
  const m = r.monitor!;
  const parts = [
    `T (the end of the deploy) at ${md(when(m.t))}; sampled every ${md(m.interval)} until ${md(clock(m.endsAt))}.`,
  ];
  const rules = r.signals.flatMap((s) => s.rules);
  if (rules.length) {
    parts.push(
      table(
        ["Rule", "Condition", "For", "Severity", "Mode"],
        rules.map((x) => [x.name, x.when, duration(x.forMs), x.severity, x.watch ? "watch" : "enforce"]),
      ),
    );
  }
  const telling = r.verdicts.filter((v) => v.state !== "pending");
  const pending = r.verdicts.length - telling.length;
  if (telling.length) {
    parts.push(
      telling.map((v) => `- ${md(clock(v.at))} rule ${md(v.rule)} ${md(v.state)}: ${md(v.text)}`).join("\n"),
    );
  }
  if (pending) parts.push(`${pending} sample(s) found a rule in breach before its window elapsed.`);
  for (const g of r.gaps)
    parts.push(
      `Monitoring saw nothing from ${md(clock(g.from))} to ${md(clock(g.to))} (${md(duration(g.ms))}).`,
    );
  return parts.join("\n\n");
}

export function decision(d: DecisionRecord): string {
  const needed = d.approvers.length
    ? d.approvers.map((a) => `${a.count} of ${a.role}`).join(", ")
    : `${d.needed} approval(s)`;
  const lines = [
    `### ${md(d.what)}`,
    `Step ${md(d.step)} (${md(d.form)}), asked at ${md(clock(d.askedAt))}, needs ${md(needed)}: **${md(d.status)}**${d.message ? ` — ${md(d.message)}` : ""}.`,
  ];
  if (d.reminders) lines.push(`Reminded ${d.reminders} time(s).`);
  for (const a of d.approvals) {
    const who = `${a.by}${a.role ? ` for ${a.role}` : ""}${a.authenticated === false ? " (not authenticated)" : ""}`;
    lines.push(`- ${md(clock(a.at))} approved by ${md(who)}${a.comment ? `: “${md(a.comment)}”` : ""}`);
    if (a.evidence) {
      lines.push(`  - evidence SHA-256 ${md(a.evidence.hash)}`);
      for (const i of a.evidence.inputs)
        lines.push(`  - ${md(i.name)}: ${i.ok ? "ok" : "not ok"}, ${md(value(i.value))} — ${md(i.message)}`);
    }
  }
  for (const x of d.rejections) {
    lines.push(
      `- ${md(clock(x.at))} rejected by ${md(x.by)}${x.role ? ` for ${md(x.role)}` : ""}${x.reason ? `: ${md(x.reason)}` : ""}`,
    );
  }
  return lines.join("\n");
}

function checklists(r: ReleaseRecord): string {
  return r.checklists
    .map((c) => {
      const lines = [`### ${md(c.what)}`, `**${md(c.status)}**${c.message ? ` — ${md(c.message)}` : ""}`, ""];
      for (const i of c.items) {
        const done = i.done
          ? ` — ${md(i.done.by)} at ${md(clock(i.done.at))}${i.done.comment ? `: ${md(i.done.comment)}` : ""}`
          : "";
        lines.push(`- [${i.done ? "x" : " "}] ${i.item}. ${md(i.text)}${done}`);
      }
      for (const s of c.signoffs)
        lines.push(`- signed off by ${md(s.by)}${s.role ? ` for ${md(s.role)}` : ""} at ${md(clock(s.at))}`);
      return lines.join("\n");
    })
    .join("\n\n");
}

function rollback(r: ReleaseRecord): string {
  const b = r.rollback!;
  const lines = [`Reason: ${md(b.reason)}`, "", table(["", ""], rollbackRows(b))];
  if (b.problems.length) lines.push("", ...b.problems.map((p) => `- problem: ${md(p)}`));
  if (b.steps.length) lines.push("", stepTable(b.steps));
  for (const l of r.losses) {
    lines.push(
      "",
      `Migrations (${md(l.strategy)}): ${md(l.statement)}${l.applied.length ? ` Applied by this release: ${md(l.applied.join(", "))}.` : ""}`,
    );
  }
  return lines.join("\n");
}

function incidents(r: ReleaseRecord): string {
  return r.incidents
    .map((i) => {
      const lines = [
        `- ${md(i.severity)} ${md(i.incident)} from ${md(clock(i.startedAt))}: acknowledge by ${md(clock(i.ackBy))}${i.mitigateBy ? `, mitigate by ${md(clock(i.mitigateBy))}` : ""}; escalation ${md(i.escalation.join(" → ") || "none")}`,
      ];
      for (const m of i.met)
        lines.push(`  - ${md(m.target)} met after ${md(duration(m.ms))}${m.by ? ` by ${md(m.by)}` : ""}`);
      for (const b of i.breached)
        lines.push(
          `  - ${md(b.target)} breached at ${md(clock(b.at))}: ${md(b.message)}${b.escalatedTo ? `; paged ${md(b.escalatedTo)}` : ""}${b.why ? ` (${md(b.why)})` : ""}`,
        );
      return lines.join("\n");
    })
    .join("\n");
}

function handoffs(r: ReleaseRecord): string {
  return r.handoffs
    .map(
      (h) =>
        `- ${md(clock(h.at))} ${md(h.from)} → ${md(h.to)} (recorded by ${md(h.by)})${h.note ? `: ${md(h.note)}` : ""}`,
    )
    .join("\n");
}

function messages(r: ReleaseRecord): string {
  if (!r.messages.length) return "No messages were sent.";
  return table(
    ["Queued", "Channel", "Event", "State", "Receiver id or error", "Text"],
    r.messages.map((m) => [clock(m.queuedAt), m.channel, m.event, m.state, m.detail ?? "", m.text]),
  );
}

export function section(title: string, body: string): string {
  return `## ${title}\n\n${body}`;
}

/** A Markdown table; every cell is escaped. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => md(c)).join(" | ")} |`;
  return [line(head), `|${head.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n");
}
