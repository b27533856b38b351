import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { test } from "node:test";
import { buildRecord } from "./build.js";
import { renderHtml } from "./html.js";
import { renderJson } from "./json.js";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import { PROMPT, renderPostmortem } from "./postmortem.js";
import { renderSummary } from "./summary.js";
import { syntheticRun } from "./test-support.js";

const record = buildRecord(syntheticRun())!;

test("Markdown: every section, every decision with its evidence, hostile text escaped", () => {
  const md = renderMarkdown(record);
  for (const heading of [
    "Timeline",
    "Gates",
    "Smoke tests",
    "Checks",
    "Checkpoints",
    "Monitoring",
    "Decisions and approvals",
    "Checklists",
    "Rollback",
    "Durations against targets",
    "Incidents",
    "Handoffs",
    "Messages",
  ]) {
    assert.match(md, new RegExp(`^## ${heading}$`, "m"), heading);
  }
  assert.match(md, /approved by bo for leads/);
  assert.match(md, /evidence SHA-256 a{64}/);
  assert.match(md, /disk: not ok, 0\.97 — 97% used/);
  assert.match(md, /rejected by cy: too early/);
  assert.match(md, /commit 0123456789abcdef/);
  assert.doesNotMatch(md, /(?<!\\)<script>/);
  assert.match(md, /\\<script>alert/);
  assert.match(md, /\\\| \\\*bold\\\*/, "table and emphasis syntax escaped");
  assert.ok(!md.includes("\u0007"), "no control character");
});

test("HTML: self-contained, escaped, one chart per signal with thresholds and moments", () => {
  const html = renderHtml(record);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)=|url\(|@import/i, "no external asset");
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)/);
  assert.equal(html.match(/<svg /g)?.length, 2);
  assert.match(
    html,
    /stroke-dasharray="6 4"\/>\n<text[^>]*class="rule">errors: error_rate &gt; 5% for 2s \(P0\)/,
  );
  assert.match(html, /class="rule">not-ready: readiness == not_ready/);
  for (const moment of ["deploy (T)", "rollback", "rolled back"])
    assert.match(html, new RegExp(`class="moment">${moment.replace(/[()]/g, "\\$&")}<`));
  assert.match(html, /<title>sample 1: error<\/title>/, "a failed measurement is marked");
  assert.match(html, /<code>a{64}<\/code><ul><li>disk: ok, 0\.42 — 42% used<\/li>/);
});

test("JSON is the view model itself", () => {
  assert.deepEqual(JSON.parse(renderJson(record)), JSON.parse(JSON.stringify(record)));
});

test("JUnit: gates, smoke tests, checks and checkpoints as test cases; well-formed and escaped", () => {
  const xml = renderJunit(record);
  assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
  assert.match(xml, /<testsuites [^>]*tests="6" failures="1" errors="0" skipped="0"/);
  assert.match(xml, /<testsuite name="checkpoints" [^>]*tests="2" failures="1"/);
  assert.match(xml, /<testcase name="test" classname="shop\.prod\.gates" time="1\.000"/);
  assert.match(xml, /<failure message="cut short: rolling back" type="checkpoint">/);
  assert.match(xml, /timestamp="2026-03-03T10:00:00"/);
  assert.match(xml, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; ]]&gt; /);
  assert.ok(!xml.includes("\u0007"), "no control character");
  if (fs.existsSync("/usr/bin/xmllint")) execFileSync("/usr/bin/xmllint", ["--noout", "-"], { input: xml });
});

test("the job summary: outcome, facts, steps, decisions and targets", () => {
  const summary = renderSummary(record);
  assert.match(summary, /^## ↩️ Gantry: shop 2\.0\.0 → prod/);
  assert.match(summary, /\| decision go \| approved \| bo \| leads \| aaaaaaaaaaaa \|/);
  assert.match(summary, /\| detection to rollback complete \(rollback\.target\) \| 2s \| 30s \| yes \|/);
});

test("the postmortem: seed 002's sections, facts filled in, the rest marked as prompts", () => {
  const pm = renderPostmortem(record);
  const headings = [...pm.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(headings, [
    "Timeline",
    "Detection",
    "What Was Rolled Back",
    "Durations Against Targets",
    "Root Cause",
    "Impact",
    "What Went Well",
    "What Went Poorly",
    "Action Items",
    "Lessons Learned",
  ]);
  assert.match(pm, /^# Incident Postmortem: shop 2\.0\.0 Rollback$/m);
  assert.match(pm, /\*\*Severity\*\*: P0 \(incident INC-1\)/);
  assert.match(pm, /\*\*Incident Commander\*\*: miguel/);
  assert.match(pm, /\*\*Rule\*\*: errors — `error_rate > 5%` for 2s, severity P0/);
  assert.match(pm, /\*\*Value that fired it\*\*: 0\.4/);
  assert.match(pm, /Issue first detected: rule errors in breach — error_rate 0\.2 > 5%/);
  assert.match(pm, /rolled back to \*\*1\.9\.0\*\*/);
  assert.match(
    pm,
    /\*\*Data Loss\*\*: DROP TABLE notes loses 12 rows \(migrations 0002_notes\) — data was lost/,
  );
  assert.match(pm, /P0 INC-1: time to acknowledge \(slas\.P0\.ack\) \| 6m31s \| 5m \| no/);
  assert.match(pm, /P0 INC-1 not acknowledged within 5m/, "a breach is a fact for what went poorly");
  for (const heading of ["Root Cause", "What Went Well", "What Went Poorly", "Lessons Learned"]) {
    assert.ok(pm.includes(`## ${heading}\n\n${PROMPT}`), `${heading} starts with the prompt`);
  }
  assert.match(pm, /\*\*Users Affected\*\*: _to fill in_/);
  assert.doesNotMatch(pm, /(?<!\\)<script>/);
});
