/** Every example runbook validates without errors and plans for each of its environments. */
import assert from "node:assert/strict";
import fs, { readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { assign } from "../scripts/seed-run.js";
import { notExecutable } from "../src/app/capabilities.js";
import { loadRunbook } from "../src/runbook/load.js";
import { plan } from "../src/runbook/plan/plan.js";
import { ROOT } from "./helpers/paths.js";

const seeds = readdirSync(`${ROOT}examples/seeds`, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => `examples/seeds/${d.name}/runbook.yaml`);

describe("seed translations", () => {
  it("all five are there", () => assert.equal(seeds.length, 5));
  for (const file of seeds) {
    it(`${file} validates and plans`, () => {
      const loaded = loadRunbook(`${ROOT}${file}`);
      assert.deepEqual(
        loaded.diagnostics.filter((d) => d.severity === "error"),
        [],
      );
      const runbook = loaded.runbook!;
      for (const env of Object.keys(runbook.environments)) {
        const result = plan(runbook, {
          env,
          ref: "v1.0.0",
          at: "2025-10-07T10:30:00-04:00",
          atGiven: true,
          file,
        });
        assert.ok(result.ok, `${file} --env ${env}`);
        assert.deepEqual(result.plan.blockers, [], `${file} --env ${env}`);
        assert.ok(
          result.plan.phases.some((p) => p.name === "deploy"),
          `${file} has a deploy phase`,
        );
        // Everything the seeds say is executable: `gantry plan` lists nothing as not executable.
        const sections = { schedule: runbook.schedule.length, channels: runbook.notify?.channels ?? {} };
        assert.deepEqual(notExecutable(result.plan, sections), [], `${file} --env ${env}`);
      }
    });
  }
});

describe("seed stand-ins", () => {
  const withStandin = seeds.map((f) => path.dirname(f)).filter((d) => fs.existsSync(`${ROOT}${d}/standin`));
  for (const dir of withStandin) {
    it(`${dir} has a stand-in, a README, and a healthy then a faulty release against it`, () => {
      assert.ok(fs.existsSync(`${ROOT}${dir}/standin/standin.mjs`));
      assert.ok(fs.existsSync(`${ROOT}${dir}/README.md`));
      const manifest = JSON.parse(fs.readFileSync(`${ROOT}${dir}/standin/releases.json`, "utf8")) as {
        env: string;
        releases: Array<{ env?: string; expect: string; reason?: string | string[]; serving?: string }>;
      };
      const runbook = loadRunbook(`${ROOT}${dir}/runbook.yaml`).runbook!;
      for (const r of manifest.releases)
        assert.ok(runbook.environments[r.env ?? manifest.env], `${dir}: ${r.env}`);
      const last = manifest.releases.at(-1)!;
      assert.ok(manifest.releases.some((r) => r.expect === "released"));
      assert.equal(last.expect, "rolled_back");
      assert.ok(
        last.reason && last.serving,
        `${dir}: the faulty release names its reason and what serves after`,
      );
      assert.ok(
        runbook.environments[manifest.env]!.timeScale,
        `${dir}: its stand-in environment compresses time`,
      );
    });
  }
});

describe("npm run seeds answers as the roles' members", () => {
  it("gives a person in two roles to the role nobody else can answer for", () => {
    const answers = assign([
      { role: "deployment-lead", count: 1, members: ["dana", "sam"] },
      { role: "devops-lead", count: 1, members: ["dana"] },
    ]);
    assert.deepEqual(answers, [
      { member: "sam", role: "deployment-lead" },
      { member: "dana", role: "devops-lead" },
    ]);
  });
  it("answers what it can when a role cannot be filled", () => {
    assert.deepEqual(
      assign([
        { role: "a", count: 2, members: ["x"] },
        { role: "b", count: 1, members: ["y"] },
      ]),
      [
        { member: "x", role: "a" },
        { member: "y", role: "b" },
      ],
    );
  });
});
