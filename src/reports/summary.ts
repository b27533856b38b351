/**
 * The GitHub Actions job summary of a release: its outcome, what was released where and by
 * whom, the steps, and the durations against their targets, in the Markdown GitHub shows on
 * the run's page. `gantry release` appends it to $GITHUB_STEP_SUMMARY when that is set.
 */
import { escapeMarkdown as md } from "./escape.js";
import { facts, outcomeLine, section, stepTable, table, targetTable } from "./markdown.js";
import type { ReleaseRecord } from "./record.js";

const MARK: Record<string, string> = {
  released: "✅",
  rolled_back: "↩️",
  gate_failed: "❌",
  failed: "❌",
  aborted: "⏹️",
  postponed: "⏸️",
};

export function renderSummary(r: ReleaseRecord): string {
  const answers = r.decisions.flatMap((d) => [
    ...d.approvals.map((a) => [d.what, "approved", a.by, a.role ?? "", a.evidence?.hash.slice(0, 12) ?? ""]),
    ...d.rejections.map((j) => [d.what, "rejected", j.by, j.role ?? "", ""]),
  ]);
  return [
    `## ${MARK[r.outcome ?? ""] ?? "⏳"} Gantry: ${md(`${r.service} ${r.version} → ${r.environment}`)}`,
    outcomeLine(r),
    facts(r),
    section("Steps", stepTable(r.timeline, true)),
    answers.length
      ? section("Decisions", table(["Decision", "Answer", "By", "Role", "Evidence"], answers))
      : "",
    r.targets.length ? section("Durations against targets", targetTable(r.targets)) : "",
    `Full record: \`gantry report ${md(r.run)}\``,
  ]
    .filter((part) => part !== "")
    .join("\n\n")
    .concat("\n\n");
}
