/**
 * A rollback that chooses, through the real binary on the quickstart: version 2's defect is
 * caught by monitoring, and the rollback's first step chooses between two options, each of
 * which appends its name to chosen.log. Covered: a condition on a monitored signal choosing,
 * a member of the role choosing with `gantry approve --choice` (an outsider and a pick that
 * names no option refused), and the default taken after the timeout.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { choiceWorkspaces, choosing, chosenLog } from "./helpers/rollback-choice.js";
import { events, type Workspace, waitFor } from "./helpers/workspace.js";

/** What a `rollback.chosen` event records. */
interface Chosen {
  option: string;
  by: string;
  reason: string;
  person?: string;
  role?: string;
  signals: Record<string, { value: unknown }>;
  judged: Array<{ option: string; state: string }>;
}

const ws = choiceWorkspaces();

const release = (w: Workspace) =>
  w.gantry(["release", w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"]);

describe("a rollback that chooses", { concurrency: 3 }, () => {
  it("takes the first option whose condition holds on the signals measured then, and records them", async () => {
    const w = await ws(choosing("        by: dba\n", "readiness == not_ready"));
    const r = await release(w);
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    assert.deepEqual(chosenLog(w), ["fast"]);
    const log = await events(w, String(r.json?.run));
    const chosen = log.filter((e) => e.kind === "rollback.chosen");
    assert.equal(chosen.length, 1);
    const d = chosen[0]!.data as unknown as Chosen;
    assert.equal(d.option, "fast");
    assert.equal(d.by, "condition");
    assert.match(d.reason, /^readiness == not_ready holds: readiness not_ready == not_ready/);
    assert.equal(d.signals.readiness?.value, "not_ready");
    assert.ok(
      !log.some((e) => e.kind === "approval.waiting"),
      "a person was asked although a condition held",
    );
    const finished = log.find((e) => e.key === "rollback:db:finished");
    assert.equal(finished?.data.option, "fast");
    assert.ok(log.some((e) => e.key === "rollback:db:fast:mark:finished"));
  });

  it("asks a member of the role when no condition holds: outsiders and picks that name no option are refused", async () => {
    const w = await ws(choosing("        by: dba\n", "readiness == ready"));
    const child = release(w);
    const view = await waitFor(
      w,
      (v) => (v.waiting as { form?: string } | undefined)?.form === "choice",
      undefined,
      child,
    );
    const run = String(view.id);
    const waiting = view.waiting as { what: string; options: Array<{ name: string }>; default: string };
    assert.deepEqual(
      waiting.options.map((o) => o.name),
      ["fast", "slow"],
    );
    assert.equal(waiting.default, "slow");
    const status = await w.gantry(["status", run]);
    assert.match(
      status.stdout,
      /waiting for choice db: a member of dba picks fast \(the quick way\) \| slow \(the careful way\); default slow — gantry approve \S+ --choice NAME/,
    );

    const outsider = await w.gantry(["approve", run, "--as", "mallory", "--choice", "fast"]);
    assert.equal(outsider.code, 13, outsider.stderr);
    assert.match(outsider.stderr, /mallory may not choose for choice db: not in dba \(members: dana\)/);
    const none = await w.gantry(["approve", run, "--as", "dana"]);
    assert.equal(none.code, 10, none.stderr);
    assert.match(
      none.stderr,
      /choice db is answered with the option to take: none given; options: fast \(the quick way\); slow \(the careful way\)/,
    );
    const wrong = await w.gantry(["approve", run, "--as", "dana", "--choice", "fastest"]);
    assert.equal(wrong.code, 10, wrong.stderr);
    assert.match(wrong.stderr, /`fastest` is not one of them; options: fast/);
    const reject = await w.gantry(["approve", run, "--as", "dana", "--reject"]);
    assert.equal(reject.code, 10, reject.stderr);

    const pick = await w.gantry(["approve", run, "--as", "dana", "--choice", "fast"]);
    assert.equal(pick.code, 0, pick.stderr);
    assert.match(pick.stdout, /chose fast for choice db as dana for dba/);
    const r = await child;
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    assert.deepEqual(chosenLog(w), ["fast"]);
    const d = (await events(w, run)).find((e) => e.kind === "rollback.chosen")!.data as unknown as Chosen;
    assert.deepEqual([d.option, d.by, d.person, d.role], ["fast", "person", "dana", "dba"]);
    assert.match(d.reason, /^picked by dana for dba/);
    const picks = (await events(w, run)).filter((e) => e.kind === "approval");
    assert.deepEqual(
      picks.map((e) => [e.data.by, e.data.role, e.data.choice]),
      [["dana", "dba", "fast"]],
    );
    assert.deepEqual(
      d.judged.map((j) => [j.option, j.state]),
      [["fast", "false"]],
    );
  });

  it("takes the default when nobody of the role picks in time", async () => {
    const w = await ws(choosing("        by: dba\n        timeout: 1s\n", ""));
    const r = await release(w);
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    assert.deepEqual(chosenLog(w), ["slow"]);
    const log = await events(w, String(r.json?.run));
    const d = log.find((e) => e.kind === "rollback.chosen")!.data as unknown as Chosen;
    assert.deepEqual([d.option, d.by], ["slow", "default"]);
    assert.match(d.reason, /^default after timeout: nobody of dba picked within 1(\.0)?s/);
    assert.ok(log.some((e) => e.key === "rollback:db:waiting"));
  });
});
