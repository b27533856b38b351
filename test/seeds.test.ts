/** Every example runbook validates without errors and plans for each of its environments. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
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
        // Every provider and canary step the seeds use is executable.
        const sections = { schedule: runbook.schedule.length, channels: runbook.notify?.channels ?? {} };
        const deployParts = notExecutable(result.plan, sections).filter((p) => p.startsWith("deploy"));
        assert.deepEqual(deployParts, [], `${file} --env ${env}`);
      }
    });
  }
});
