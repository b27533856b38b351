/**
 * The release record as one self-contained HTML page (`gantry report RUN --format html`): the
 * same sections as the Markdown record, and an SVG chart of each monitored signal with its
 * rules' thresholds and the deploy and rollback moments. No script and no external asset: the
 * file can be attached to a ticket or archived as it is. Every text is escaped.
 */
import { type Moment, signalChart } from "./chart.js";
import { escapeXml as x } from "./escape.js";
import { clock, duration, rollbackRows, value, when } from "./format.js";
import type { DecisionRecord, ReleaseRecord, StepRecord } from "./record.js";

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.passed,.sent,.released,.yes{color:#2e7d32}.failed,.rolled_back,.gate_failed,.no{color:#c62828}
.axis{font-size:11px;fill:#555}.rule{font-size:11px;fill:#c62828}.moment{font-size:11px;fill:#1565c0}
.outcome{font-size:1.1rem;padding:.5rem .75rem;background:#f6f6f6;border-left:4px solid #888}code{font-size:12px;word-break:break-all}`;

export function renderHtml(r: ReleaseRecord): string {
  const title = `Release record: ${r.service} ${r.version} → ${r.environment}`;
  const body = [
    `<h1>${x(title)}</h1>`,
    `<p class="outcome"><strong class="${x(r.status)}">${x(r.outcome ?? r.status)}</strong>: ${x(r.reason ?? "the run has not finished")}</p>`,
    facts(r),
    section("Timeline", steps(r.timeline, true)),
    section("Gates", r.gates.length ? steps(r.gates) : "<p>No gates ran.</p>"),
    section("Smoke tests", r.smoke.length ? steps(r.smoke) : "<p>No smoke tests ran.</p>"),
    r.checks.length ? section("Checks", steps(r.checks)) : "",
    r.checkpoints.length ? section("Checkpoints", checkpoints(r)) : "",
    r.signals.length ? section("Signals", signals(r)) : "",
    r.decisions.length ? section("Decisions and approvals", r.decisions.map(decision).join("\n")) : "",
    r.checklists.length ? section("Checklists", checklists(r)) : "",
    r.rollback ? section("Rollback", rollback(r)) : "",
    r.targets.length
      ? section(
          "Durations against targets",
          table(
            ["What", "Took", "Target", "Met"],
            r.targets.map((t) => [
              x(t.what),
              x(duration(t.ms)),
              t.targetMs === null ? "—" : x(duration(t.targetMs)),
              t.met === null ? "—" : `<span class="${t.met ? "yes" : "no"}">${t.met ? "yes" : "no"}</span>`,
            ]),
          ),
        )
      : "",
    r.incidents.length ? section("Incidents", incidents(r)) : "",
    r.handoffs.length
      ? section(
          "Handoffs",
          table(
            ["At", "From", "To", "Recorded by", "Note"],
            r.handoffs.map((h) => [x(clock(h.at)), x(h.from), x(h.to), x(h.by), x(h.note ?? "")]),
          ),
        )
      : "",
    section("Messages", messages(r)),
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${x(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
${body.filter((b) => b !== "").join("\n")}
<p><small>Drawn from the event log of run ${x(r.run)} by Gantry.</small></p>
</body></html>
`;
}

function facts(r: ReleaseRecord): string {
  const rows: Array<[string, string]> = [
    ["Run", r.run],
    ["Service", r.service],
    ["Environment", r.environment],
    ["Version", `${r.version} (ref ${r.ref}${r.sha ? `, commit ${r.sha}` : ""})`],
    ["Previous version", r.previousVersion ?? "none"],
    ["Operator", `${r.operator.name}${r.operator.authenticated ? "" : " (not authenticated)"}`],
    ["Approvers", r.approvers.length ? r.approvers.join(", ") : "none"],
    ["Created", when(r.createdAt)],
    ["Finished", when(r.finishedAt)],
    ["Duration", duration(r.durationMs)],
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th>${x(k)}</th><td>${x(v)}</td></tr>`).join("")}</table>`;
}

function steps(list: StepRecord[], phases = false): string {
  return table(
    phases
      ? ["Step", "Phase", "Status", "Started", "Ended", "Took", "Message"]
      : ["Name", "Status", "Started", "Took", "Message"],
    list.map((s) => {
      const status = `<span class="${x(s.status)}">${x(s.status)}</span>`;
      return phases
        ? [
            x(s.id),
            x(s.phase),
            status,
            x(clock(s.startedAt)),
            x(clock(s.finishedAt)),
            x(duration(s.durationMs)),
            x(s.message ?? ""),
          ]
        : [x(s.title), status, x(clock(s.startedAt)), x(duration(s.durationMs)), x(s.message ?? "")];
    }),
  );
}

function checkpoints(r: ReleaseRecord): string {
  return table(
    ["Checkpoint", "Status", "Ended", "Values", "Message"],
    r.checkpoints.map((c) => [
      x(c.title),
      `<span class="${x(c.status)}">${x(c.status)}</span>`,
      x(clock(c.finishedAt)),
      x(c.values.map((v) => `${v.signal} ${value(v.value)}`).join(", ")),
      x(c.message ?? ""),
    ]),
  );
}

/** A chart per signal, then the verdicts that were not plain ok. */
function signals(r: ReleaseRecord): string {
  const moments: Moment[] = [];
  if (r.monitor) moments.push({ at: r.monitor.t, label: "deploy (T)" });
  if (r.rollback) moments.push({ at: r.rollback.startedAt, label: "rollback" });
  if (r.rollback?.finishedAt) moments.push({ at: r.rollback.finishedAt, label: "rolled back" });
  const charts = r.signals.map((s) => `<h3>${x(s.name)}</h3>\n${signalChart(s, moments)}`);
  const telling = r.verdicts.filter((v) => v.state !== "pending");
  if (telling.length) {
    charts.push(
      table(
        ["At", "Rule", "Verdict", "Value", "Explanation"],
        telling.map((v) => [x(clock(v.at)), x(v.rule), x(v.state), x(value(v.value)), x(v.text)]),
      ),
    );
  }
  for (const g of r.gaps)
    charts.push(
      `<p>Monitoring saw nothing from ${x(clock(g.from))} to ${x(clock(g.to))} (${x(duration(g.ms))}).</p>`,
    );
  return charts.join("\n");
}

function decision(d: DecisionRecord): string {
  const rows = [
    ...d.approvals.map((a) => [
      x(clock(a.at)),
      "approved",
      x(`${a.by}${a.role ? ` for ${a.role}` : ""}${a.authenticated === false ? " (not authenticated)" : ""}`),
      x(a.comment ?? ""),
      a.evidence
        ? `<code>${x(a.evidence.hash)}</code><ul>${a.evidence.inputs
            .map(
              (i) =>
                `<li>${x(`${i.name}: ${i.ok ? "ok" : "not ok"}, ${value(i.value)} — ${i.message}`)}</li>`,
            )
            .join("")}</ul>`
        : "—",
    ]),
    ...d.rejections.map((j) => [
      x(clock(j.at)),
      "rejected",
      x(`${j.by}${j.role ? ` for ${j.role}` : ""}`),
      x(j.reason ?? ""),
      "—",
    ]),
  ];
  return `<h3>${x(d.what)}</h3>
<p>Step ${x(d.step)} (${x(d.form)}), asked at ${x(clock(d.askedAt))}: <strong class="${x(d.status)}">${x(d.status)}</strong>${d.message ? ` — ${x(d.message)}` : ""}${d.reminders ? `; reminded ${d.reminders} time(s)` : ""}</p>
${rows.length ? table(["At", "Answer", "Who", "Comment or reason", "Evidence (SHA-256 and inputs)"], rows) : "<p>No answers were recorded.</p>"}`;
}

function checklists(r: ReleaseRecord): string {
  return r.checklists
    .map(
      (c) => `<h3>${x(c.what)}</h3>
${table(
  ["Item", "Text", "Done by", "At", "Comment"],
  c.items.map((i) => [
    String(i.item),
    x(i.text),
    x(i.done?.by ?? ""),
    x(i.done ? clock(i.done.at) : ""),
    x(i.done?.comment ?? ""),
  ]),
)}
<p>${c.signoffs.length ? `Signed off by ${x(c.signoffs.map((s) => s.by).join(", "))}` : "Not signed off as a whole"}: <strong class="${x(c.status)}">${x(c.status)}</strong></p>`,
    )
    .join("\n");
}

function rollback(r: ReleaseRecord): string {
  const b = r.rollback!;
  const rows: Array<[string, string]> = [
    ["Reason", b.reason],
    ...rollbackRows(b),
    ...b.problems.map((p): [string, string] => ["Problem", p]),
    ...r.losses.map((l): [string, string] => [`Migrations (${l.strategy})`, l.statement]),
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th>${x(k)}</th><td>${x(v)}</td></tr>`).join("")}</table>
${b.steps.length ? steps(b.steps) : ""}`;
}

function incidents(r: ReleaseRecord): string {
  return table(
    ["Incident", "Started", "Acknowledge by", "Mitigate by", "Escalation", "Met", "Breached"],
    r.incidents.map((i) => [
      x(`${i.severity} ${i.incident}`),
      x(clock(i.startedAt)),
      x(clock(i.ackBy)),
      x(clock(i.mitigateBy)),
      x(i.escalation.join(" → ")),
      x(i.met.map((m) => `${m.target} after ${duration(m.ms)}${m.by ? ` by ${m.by}` : ""}`).join("; ")),
      x(i.breached.map((b) => b.message).join("; ")),
    ]),
  );
}

function messages(r: ReleaseRecord): string {
  if (!r.messages.length) return "<p>No messages were sent.</p>";
  return table(
    ["Queued", "Channel", "Event", "State", "Receiver id or error", "Text"],
    r.messages.map((m) => [
      x(clock(m.queuedAt)),
      x(m.channel),
      x(m.event),
      `<span class="${x(m.state)}">${x(m.state)}</span>`,
      x(m.detail ?? ""),
      x(m.text),
    ]),
  );
}

function section(title: string, body: string): string {
  return `<h2>${x(title)}</h2>\n${body}`;
}

/** A table whose cells are already HTML (escaped by the caller). */
function table(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${x(h)}</th>`).join("")}</tr>
${rows.map((row) => `<tr>${row.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n")}</table>`;
}
