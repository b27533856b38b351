/** A rollback step that chooses: its format, its validation (with YAML paths), and how the plan shows and carries it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { notExecutable } from "../../app/capabilities.js";
import { loadRunbookText } from "../load.js";
import { plan } from "./plan.js";
import { renderPlan } from "./render.js";

const base = (choose: string) => `
apiVersion: gantry/v1
metadata: { name: t, service: web }
environments:
  production: { url: https://example.com }
roles:
  database-lead: { members: [dana] }
deploy:
  provider: command
  deploy: ./deploy.sh {{ release.version }}
  rollback: ./deploy.sh {{ release.previousVersion }}
monitor:
  checkpoints: [T+0, T+15m]
  signals:
    integrity_violations: { type: command, run: ./violations.sh }
    error_rate: { type: command, run: ./errors.sh }
rollback:
  target: 15m
  steps:
    - revert: true
    - name: database
      description: Undo the database changes
${choose}
`;

const CHOOSE = `      choose:
        by: database-lead
        timeout: 3m
        default: restore
        options:
          - name: restore
            description: point-in-time recovery
            when: integrity_violations > 0
            steps: [{ run: ./restore.sh }]
          - name: scripts
            description: the rollback scripts
            steps: [{ run: ./down.sh }, { name: verify, run: ./verify.sh }]`;

function problems(choose: string) {
  return loadRunbookText(base(choose), "t.yaml").diagnostics.map(
    (d) => `${d.severity} ${d.path}: ${d.message}`,
  );
}

describe("rollback choose", () => {
  it("is valid as written, and the plan carries options, who chooses, the default and the signals", () => {
    const loaded = loadRunbookText(base(CHOOSE), "t.yaml");
    assert.deepEqual(loaded.diagnostics, []);
    const r = plan(loaded.runbook!, {
      env: "production",
      ref: "v1.0.0",
      at: "2025-10-07T10:00:00Z",
      file: "t.yaml",
    });
    assert.ok(r.ok);
    const step = r.plan.rollback!.steps[1]!;
    assert.equal(step.form, "choose");
    if (step.form !== "choose") return;
    assert.equal(step.id, "rollback:database");
    assert.deepEqual(step.choice.by, { role: "database-lead", members: ["dana"] });
    assert.equal(step.choice.default, "restore");
    assert.equal(step.choice.timeout?.ms, 180_000);
    assert.deepEqual(Object.keys(step.choice.signals), ["integrity_violations"]);
    assert.deepEqual(
      step.choice.options.map((o) => [o.name, o.when?.text ?? null, o.steps.map((s) => s.id)]),
      [
        ["restore", "integrity_violations > 0", ["rollback:database:restore:1"]],
        ["scripts", null, ["rollback:database:scripts:1", "rollback:database:scripts:verify"]],
      ],
    );
    // The stored plan is data.
    assert.deepEqual(JSON.parse(JSON.stringify(r.plan.rollback)), r.plan.rollback);
    assert.deepEqual(notExecutable(r.plan, { schedule: 0 }), []);
    const text = renderPlan(r.plan);
    assert.match(
      text,
      /2\. database: choose restore or scripts {2}— the first option whose condition holds; else a member of database-lead picks \(gantry approve RUN --choice NAME\); after 3m without a pick: restore/,
    );
    assert.match(
      text,
      /\n {6}restore \[when integrity_violations > 0; default\]: point-in-time recovery\n {8}- run/,
    );
    assert.match(
      text,
      /\n {6}scripts: the rollback scripts\n {8}- run {2}— \.\/down\.sh\n {8}- verify {2}— \.\/verify\.sh/,
    );
  });

  it("refuses a default that is no option, duplicate names, an unknown role or signal, with their paths", () => {
    const bad = CHOOSE.replace("by: database-lead", "by: dba")
      .replace("default: restore", "default: restor")
      .replace("name: scripts", "name: restore")
      .replace("integrity_violations > 0", "integrity > 0");
    const found = problems(bad);
    const at = "rollback.steps[1].choose";
    for (const expected of [
      `error ${at}.by: unknown role \`dba\`; declared roles: database-lead`,
      `error ${at}.default: unknown option \`restor\`; did you mean \`restore\`?`,
      `error ${at}.options[1].name: duplicate option name \`restore\` (first used at rollback.steps.1.choose.options[0]); a person picks an option by its name`,
      `error ${at}.options[0].when: unknown signal \`integrity\`; did you mean \`integrity_violations\`?`,
    ])
      assert.ok(found.includes(expected), `${expected}\nnot in:\n${found.join("\n")}`);
  });

  it("refuses a timeout without someone to wait for, a choice inside an option, and warns when nothing chooses", () => {
    const noBy = problems(CHOOSE.replace("        by: database-lead\n", ""));
    assert.ok(
      noBy.includes(
        "error rollback.steps[1].choose.timeout: `timeout` is how long a member of `by` has to pick; add `by: <role>`, or remove `timeout`",
      ),
      noBy.join("\n"),
    );
    const nested = problems(
      CHOOSE.replace("steps: [{ run: ./restore.sh }]", "steps: [{ choose: { default: a, options: [] } }]"),
    );
    assert.ok(
      nested.some(
        (p) => p.startsWith("error rollback.steps[1].choose.options[0].steps[0]") && /choose/.test(p),
      ),
      nested.join("\n"),
    );
    const nothing = problems(
      CHOOSE.replace("        by: database-lead\n        timeout: 3m\n", "").replace(
        "            when: integrity_violations > 0\n",
        "",
      ),
    );
    assert.ok(
      nothing.some((p) => p.startsWith("warning rollback.steps[1].choose: nothing chooses here")),
      nothing.join("\n"),
    );
    const empty = problems(
      CHOOSE.replace(
        "steps: [{ run: ./down.sh }, { name: verify, run: ./verify.sh }]",
        "steps: [{ name: x }]",
      ),
    );
    assert.ok(
      empty.some((p) =>
        p.startsWith("error rollback.steps[1].choose.options[1].steps[0]: say what this step does"),
      ),
      empty.join("\n"),
    );
  });
});
