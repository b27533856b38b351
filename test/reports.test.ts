/**
 * Reports through the real binary: the quickstart v2 release rolls back and writes its
 * postmortem draft on its own, naming the rule, the value and the durations; it appends its job
 * summary to $GITHUB_STEP_SUMMARY; `gantry report --format junit` validates against the JUnit
 * schema (test/fixtures/junit.xsd, with xmllint); a run with a decision reports every approval
 * with its evidence.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ROOT } from "./helpers/paths.js";
import { events, type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const XSD = path.join(ROOT, "test/fixtures/junit.xsd");
const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

async function ws(options: Parameters<typeof workspace>[0] = {}): Promise<Workspace> {
  const w = await workspace(options);
  spaces.push(w);
  return w;
}

describe("reports", { concurrency: 2 }, () => {
  it("quickstart v2: the postmortem is written on its own, the job summary appended, JUnit valid", async () => {
    const w = await ws({ previous: "1.0.0" });
    const summaryFile = path.join(w.dir, "step-summary.md");
    fs.writeFileSync(summaryFile, "# earlier step\n");
    const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      GITHUB_STEP_SUMMARY: summaryFile,
    });
    assert.equal(r.code, 5, r.stderr);
    const run = String(r.json!.run);

    const file = path.join(w.dataDir, "reports", `${run}-postmortem.md`);
    assert.ok(r.stderr.includes(`postmortem draft: ${file}`), r.stderr);
    const pm = fs.readFileSync(file, "utf8");
    const fired = (await events(w, run)).find((e) => e.kind === "verdict" && e.data.state === "fired")!;
    const value = String(Number((fired.data.value as number).toPrecision(3)));
    assert.match(pm, /^# Incident Postmortem: quickstart 2\.0\.0 Rollback$/m);
    assert.match(pm, /\*\*Rule\*\*: errors — `error_rate > 0\.05` for 2s, severity P0, action rollback/);
    assert.ok(pm.includes(`**Value that fired it**: ${value} (error_rate`), pm);
    assert.match(pm, /\*\*Detection latency\*\* \(rule window elapsed → rollback started\): \d/);
    assert.match(pm, /\| detection to rollback complete \(rollback\.target\) \| [\dhms. ]+ \| 30s \| yes \|/);
    assert.match(pm, /rolled back to \*\*1\.0\.0\*\*/);
    assert.match(pm, /\*\*Duration\*\*: [\dhms. ]+ from the deployment to the rollback complete/);
    assert.match(pm, /## Root Cause\n\n> ✍️ \*\*To fill in:\*\*/);
    // On demand, the same draft.
    const again = await w.gantry(["postmortem", run]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, pm);

    const summary = fs.readFileSync(summaryFile, "utf8");
    assert.match(
      summary,
      /^# earlier step\n## ↩️ Gantry: quickstart 2\.0\.0 → local\n/,
      "appended, not replaced",
    );
    assert.match(summary, /\*\*rolled_back\*\*: errors: error_rate/);

    const junit = path.join(w.dir, "report.xml");
    const j = await w.gantry(["report", run, "--format", "junit", "--out", junit]);
    assert.equal(j.code, 0, j.stderr);
    execFileSync("/usr/bin/xmllint", ["--noout", "--schema", XSD, junit], { stdio: "pipe" });
    const xml = fs.readFileSync(junit, "utf8");
    assert.match(xml, /<testsuite name="gates" [^>]*tests="2" failures="0"/);
    assert.match(xml, /<testcase name="hello" classname="quickstart\.local\.smoke"/);
    assert.match(xml, /<failure message="cut short: rolling back" type="checkpoint">/);

    const html = await w.gantry(["report", run, "--format", "html"]);
    assert.equal(html.code, 0, html.stderr);
    assert.equal(html.stdout.match(/<svg /g)?.length, 2, "one chart per signal");
    assert.match(html.stdout, /class="rule">errors: error_rate &gt; 0\.05 for 2s \(P0\)/);
    const wrong = await w.gantry(["report", run, "--format", "pdf"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--format pdf: write one of md, html, json, junit/);
    const none = await w.gantry(["report", "no-such-run"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no run no-such-run/);
  });

  it("a run with a decision: the report holds every approval with its evidence", async () => {
    const w = await ws({
      previous: "1.0.0",
      edit: [
        [
          "deploy:\n",
          "roles:\n  leads: { members: [ana, bo] }\ndecisions:\n  - name: go\n    after: gates\n    inputs: [disk]\n    approvers: [{ role: leads, count: 2 }]\ndeploy:\n",
        ],
        ["checks:\n", 'checks:\n  disk:\n    type: command\n    run: "true"\n'],
      ],
    });
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"]);
    const view = await waitFor(w, (v) => v.status === "waiting", undefined, child);
    const run = String(view.id);
    assert.equal((await w.gantry(["approve", run, "--as", "ana", "--comment", "<b>fine</b>"])).code, 0);
    await waitFor(w, (v) => (v.waiting as { approvals: string[] } | undefined)?.approvals.length === 1, run);
    assert.equal((await w.gantry(["approve", run, "--as", "bo"])).code, 0);
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(path.join(w.dataDir, "reports")), "no postmortem for a release that went out");

    const json = await w.gantry(["report", run, "--format", "json"]);
    assert.equal(json.code, 0, json.stderr);
    const record = JSON.parse(json.stdout);
    assert.deepEqual(record.approvers, ["ana", "bo"]);
    const go = record.decisions.find((d: { step: string }) => d.step === "decision:go");
    assert.equal(go.status, "passed");
    assert.deepEqual(
      go.approvals.map(
        (a: { by: string; role: string; evidence: { inputs: Array<{ name: string; ok: boolean }> } }) => [
          a.by,
          a.role,
          a.evidence.inputs.map((i) => [i.name, i.ok]),
        ],
      ),
      [
        ["ana", "leads", [["disk", true]]],
        ["bo", "leads", [["disk", true]]],
      ],
    );
    const md = await w.gantry(["report", run]);
    for (const a of go.approvals as Array<{ evidence: { hash: string } }>) {
      assert.match(a.evidence.hash, /^[0-9a-f]{64}$/);
      assert.ok(md.stdout.includes(`evidence SHA-256 ${a.evidence.hash}`), md.stdout);
    }
    assert.match(md.stdout, /approved by ana for leads \(not authenticated\): “\\<b>fine\\<\/b>”/);
  });
});
