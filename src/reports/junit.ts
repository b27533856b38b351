/**
 * The release as JUnit XML (`gantry report RUN --format junit`), for CI systems that show
 * test results: one test suite each for the gates, the smoke tests, the checks and the
 * checkpoints, one test case per step with its time, a failure with the step's message, and
 * steps that never ran as skipped. It follows the structure of the commonly used JUnit schema
 * (testsuites › testsuite › testcase › failure | skipped, system-out); timestamps are UTC
 * without a zone, as that schema's pattern wants. Every text is escaped.
 */
import { escapeXml as x } from "./escape.js";
import type { ReleaseRecord, StepRecord } from "./record.js";

export function renderJunit(r: ReleaseRecord): string {
  const suites: Array<[string, StepRecord[]]> = [
    ["gates", r.gates],
    ["smoke", r.smoke],
    ["checks", r.checks],
    ["checkpoints", r.checkpoints],
  ];
  const all = suites.flatMap(([, s]) => s);
  const title = `${r.service} ${r.version} → ${r.environment} (${r.run})`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${x(title)}" ${counts(all)} time="${seconds(totalMs(all))}">`,
  ];
  suites.forEach(([name, steps], id) => {
    const stamp = timestamp(steps.find((s) => s.startedAt)?.startedAt ?? r.createdAt);
    lines.push(
      `  <testsuite name="${x(name)}" id="${id}" package="${x(`${r.service}.${r.environment}`)}" hostname="gantry" timestamp="${stamp}" ${counts(steps)} time="${seconds(totalMs(steps))}">`,
      "    <properties>",
      ...[
        ["run", r.run],
        ["version", r.version],
        ["ref", r.ref],
        ["outcome", r.outcome ?? r.status],
      ].map(([k, v]) => `      <property name="${x(k!)}" value="${x(v!)}"/>`),
      "    </properties>",
    );
    for (const s of steps) lines.push(...testcase(s, `${r.service}.${r.environment}.${name}`, r));
    lines.push("  </testsuite>");
  });
  lines.push("</testsuites>", "");
  return lines.join("\n");
}

function testcase(s: StepRecord, classname: string, r: ReleaseRecord): string[] {
  const open = `    <testcase name="${x(s.title)}" classname="${x(classname)}" time="${seconds(s.durationMs ?? 0)}"`;
  const message = s.message ?? "";
  if (s.status === "passed") {
    return message
      ? [`${open}>`, `      <system-out>${x(message)}</system-out>`, "    </testcase>"]
      : [`${open}/>`];
  }
  if (s.status === "failed") {
    return [
      `${open}>`,
      `      <failure message="${x(message || "failed")}" type="${x(s.kind)}">${x(`${s.id}: ${message}`)}</failure>`,
      "    </testcase>",
    ];
  }
  const why =
    s.status === "pending"
      ? `not run: the run ended ${r.outcome ?? "before it"}`
      : message || `${s.status}: the run has not finished`;
  return [`${open}>`, `      <skipped message="${x(why)}"/>`, "    </testcase>"];
}

function counts(steps: StepRecord[]): string {
  const failures = steps.filter((s) => s.status === "failed").length;
  const skipped = steps.filter((s) => s.status !== "passed" && s.status !== "failed").length;
  return `tests="${steps.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
}

function totalMs(steps: StepRecord[]): number {
  return steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** `2026-12-01T21:12:23`: UTC, no zone. */
function timestamp(iso: string): string {
  return iso.slice(0, 19);
}
