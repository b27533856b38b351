/** What a person may do while a run waits for a rollback choice: pick if in its role, never reject. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { foldRun } from "../engine/state.js";
import type { RunEvent } from "../store/events.js";
import { mayChoose } from "./authorize.js";
import type { Identity } from "./identity.js";
import { permissionsOf } from "./permissions.js";
import { Refusal } from "./refusal.js";

let seq = 0;
const ev = (kind: string, data: Record<string, unknown>, step?: string): RunEvent => ({
  seq: ++seq,
  runId: "r1",
  key: `k${seq}`,
  at: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  kind,
  step,
  data,
});

const view = foldRun(
  [
    ev("run.created", {
      runbook: "qs",
      service: "qs",
      environment: "local",
      ref: "v2.0.0",
      version: "2.0.0",
      file: "runbook.yaml",
      operator: "dana",
      roles: { dba: ["dana"] },
      steps: [],
    }),
    ev("run.started", {}),
    ev(
      "approval.waiting",
      {
        what: "choice db",
        needed: 1,
        form: "choice",
        approvers: [{ role: "dba", count: 1 }],
        allowSelfApproval: true,
        options: [{ name: "restore", description: "point-in-time recovery" }, { name: "scripts" }],
        default: "restore",
      },
      "rollback:db",
    ),
  ],
  true,
)!;
const person = (name: string): Identity => ({ name, roles: [], admin: false, authenticated: true });

test("a member of the choice's role may pick an option, the person releasing too; nobody may reject it", () => {
  assert.deepEqual(
    view.waiting?.options?.map((o) => o.name),
    ["restore", "scripts"],
  );
  const dana = permissionsOf(view, person("dana"));
  assert.equal(dana.approve.allowed, true);
  assert.equal(dana.reject.allowed, false);
  const mallory = permissionsOf(view, person("mallory"));
  assert.equal(mallory.approve.allowed, false);
  assert.match(
    mallory.approve.reason ?? "",
    /mallory may not choose for choice db: not in dba \(members: dana\)/,
  );
});

test("a pick must name an option: the refusal lists them", () => {
  assert.deepEqual(mayChoose(view, view.waiting!, person("dana"), "scripts"), { role: "dba" });
  assert.throws(
    () => mayChoose(view, view.waiting!, person("dana"), "both"),
    (e: unknown) =>
      e instanceof Refusal &&
      e.message ===
        "choice db is answered with the option to take: `both` is not one of them; options: restore (point-in-time recovery); scripts",
  );
});
