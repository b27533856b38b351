import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRunbookText } from "./load.js";
import { parseYaml } from "./yaml.js";

const RUNBOOK = `apiVersion: gantry/v1
kind: release
metadata: { name: shop, service: shop }
environments:
  production: &production
    url: https://shop.example.com
    production: true
    vars: { region: eu }
  standin:
    <<: *production
    url: http://127.0.0.1:18080
deploy:
  provider: command
  deploy: ./deploy.sh {{ release.version }}
  rollback: ./deploy.sh {{ release.previousVersion }}
monitor:
  checkpoints: [T+0]
`;

describe("YAML merge keys", () => {
  it("copy the anchored mapping, and a key written beside `<<` wins", () => {
    const r = parseYaml("a: &a { x: 1, y: 2 }\nb:\n  <<: *a\n  y: 3\nc: { <<: [*a], z: 4 }\n");
    assert.ok(r.ok);
    assert.deepEqual(r.yaml.value, { a: { x: 1, y: 2 }, b: { x: 1, y: 3 }, c: { x: 1, y: 2, z: 4 } });
  });

  it("let an environment take another's settings", () => {
    const loaded = loadRunbookText(RUNBOOK, "shop.yaml");
    assert.deepEqual(loaded.diagnostics, []);
    const standin = loaded.runbook!.environments.standin!;
    assert.equal(standin.url, "http://127.0.0.1:18080");
    assert.equal(standin.production, true);
    assert.deepEqual(standin.vars, { region: "eu" });
  });

  it("point a mistake in merged settings at the line where it was written", () => {
    const loaded = loadRunbookText(RUNBOOK.replace("production: true", "production: yes"), "shop.yaml");
    const errors = loaded.diagnostics.filter((d) => d.severity === "error");
    assert.ok(errors.length >= 1);
    assert.ok(
      errors.some((d) => d.line === 7),
      JSON.stringify(errors),
    );
  });
});

describe("YAML syntax errors", () => {
  it("say to quote a value that has `: ` in it", () => {
    const r = parseYaml("steps:\n  - confirm: Step 1: the deploy is done\n");
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.problems[0]!.line, 2);
    assert.match(r.problems[0]!.message, /quote the whole value/);
  });
});
