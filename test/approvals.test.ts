/**
 * Approvals that check who approves, through the real binary: a decision counts only members
 * of the roles it names, each role its own count, each person once; the person who started
 * the release cannot approve it; a rejection ends it; every approval records the role it
 * counted for and the evidence (the decision's inputs, measured then, with their hash).
 * On a database without identities, `--as` names the person (tests/identities covers tokens).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { events, type Workspace, waitFor, workspace } from "./helpers/workspace.js";

const spaces: Workspace[] = [];
after(async () => {
  await Promise.all(spaces.map((w) => w.cleanup()));
});

const ROLES = `roles:
  leads: { members: [ana, bo] }
  product: { members: [pia, pat] }
`;

/** The decision's input: a check added to the quickstart's own. */
const DISK: [string, string] = ["checks:\n", 'checks:\n  disk:\n    type: command\n    run: "true"\n'];

/** A go/no-go after the gates: 2 of leads and 1 of product. */
function decision(extra = ""): [string, string] {
  return [
    "deploy:\n",
    `${ROLES}decisions:\n  - name: go\n    after: gates\n    inputs: [disk]\n    approvers:\n      - { role: leads, count: 2 }\n      - { role: product }\n${extra}deploy:\n`,
  ];
}

async function waiting(extra = "", as = "tester") {
  const w = await workspace({ previous: "1.0.0", edit: [decision(extra), DISK] });
  spaces.push(w);
  const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json", "--as", as]);
  const view = await waitFor(w, (v) => v.status === "waiting", undefined, child);
  return { w, child, run: String(view.id) };
}

describe("approvals with roles", { concurrency: 2 }, () => {
  it("counts members of each named role, each person once, and records role and evidence", async () => {
    const { w, child, run } = await waiting();
    const approve = (as: string) => w.gantry(["approve", run, "--as", as]);

    const outsider = await approve("mallory");
    assert.equal(outsider.code, 13, outsider.stderr);
    assert.match(
      outsider.stderr,
      /mallory may not approve decision go: not in leads \(members: ana, bo\); not in product \(members: pia, pat\)/,
    );

    const ana = await approve("ana");
    assert.equal(ana.code, 0, ana.stderr);
    assert.match(ana.stdout, /approved decision go as ana for leads .*\(1\/3\)/);
    const again = await approve("ana");
    assert.equal(again.code, 10, again.stderr);
    assert.match(again.stderr, /ana has already approved decision go; each person counts once/);

    assert.equal((await approve("pia")).code, 0);
    await waitFor(w, (v) => (v.waiting as { approvals: string[] } | undefined)?.approvals.length === 2, run);
    const pat = await approve("pat");
    assert.equal(pat.code, 10, pat.stderr);
    assert.match(pat.stderr, /product already has its 1 approval; still needed: 1 of leads/);

    assert.equal((await approve("bo")).code, 0);
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.outcome, "released");

    const log = await events(w, run);
    const approvals = log.filter((e) => e.kind === "approval");
    assert.deepEqual(
      approvals.map((e) => [e.data.by, e.data.role, e.data.authenticated]),
      [
        ["ana", "leads", false],
        ["pia", "product", false],
        ["bo", "leads", false],
      ],
    );
    for (const a of approvals) {
      const evidence = a.data.evidence as { inputs: Array<{ name: string; ok: boolean }>; hash: string };
      assert.deepEqual(
        evidence.inputs.map((i) => [i.name, i.ok]),
        [["disk", true]],
      );
      assert.match(evidence.hash, /^[0-9a-f]{64}$/);
    }
  });

  it("the person who started the release cannot approve it; a rejection ends it with its reason", async () => {
    const { w, child, run } = await waiting("", "ana");
    const own = await w.gantry(["approve", run, "--as", "ana"]);
    assert.equal(own.code, 13, own.stderr);
    assert.match(own.stderr, /ana started this release and cannot approve its own decision go/);
    assert.match(own.stderr, /allowSelfApproval: true/);

    const outsider = await w.gantry(["approve", run, "--as", "mallory", "--reject", "--reason", "no"]);
    assert.equal(outsider.code, 13, "a rejection too must come from someone who may decide");

    const no = await w.gantry([
      "approve",
      run,
      "--as",
      "pia",
      "--reject",
      "--reason",
      "support is not ready",
    ]);
    assert.equal(no.code, 0, no.stderr);
    const r = await child;
    assert.equal(r.code, 14, r.stderr);
    assert.equal(r.json?.outcome, "postponed");
    // No windows here: the next try is 24 hours on (postpone: 24h).
    assert.match(
      String(r.json?.reason),
      /decision go: no-go by pia: support is not ready; postponed, nothing was deployed; next window: \d{4}-/,
    );
    const next = /next window: (\S+)/.exec(String(r.json?.reason))![1]!;
    const hours = (Date.parse(next) - Date.now()) / 3_600_000;
    assert.ok(hours > 23 && hours <= 24, `next window ${next}`);
    assert.equal((await w.providerState()).deploys.length, 0);
  });

  it("a checklist is signed off item by item by its roles, or whole", async () => {
    const w = await workspace({
      previous: "1.0.0",
      edit: [
        [
          "deploy:\n",
          `${ROLES}checklists:\n  - name: handoff\n    after: gates\n    items: [tests green, release notes written, on-call told]\n    signoff: [{ role: leads }]\ndeploy:\n`,
        ],
      ],
    });
    spaces.push(w);
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"]);
    const run = String((await waitFor(w, (v) => v.status === "waiting", undefined, child)).id);
    const item = (n: string, as: string) =>
      w.gantry(["checklist", run, "handoff", "--item", n, "--done", "--as", as]);
    const outsider = await item("1", "mallory");
    assert.equal(outsider.code, 13, outsider.stderr);
    assert.match(outsider.stderr, /mallory may not sign off items of checklist handoff: not in leads/);
    const one = await item("1", "ana");
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /signed off item 1 of checklist handoff as ana \(1\/3\): tests green/);
    await waitFor(
      w,
      (v) => ((v.waiting as { marked?: unknown[] } | undefined)?.marked ?? []).length === 1,
      run,
    );
    const twice = await item("1", "bo");
    assert.equal(twice.code, 10, twice.stderr);
    assert.match(twice.stderr, /already signed off by ana/);
    assert.equal((await item("9", "bo")).code, 10);
    const whole = await w.gantry(["approve", run, "--as", "bo"]);
    assert.equal(whole.code, 0, whole.stderr);
    const r = await child;
    assert.equal(r.json?.outcome, "released", r.stderr);
    const log = await events(w, run);
    assert.deepEqual(
      log.filter((e) => e.kind === "checklist.item").map((e) => [e.data.item, e.data.by, e.data.role]),
      [[1, "ana", "leads"]],
    );
    const done = log.find((e) => e.kind === "step.finished" && e.key.includes("checklist:handoff"));
    assert.match(
      String(done?.data.message),
      /approved by bo; items 1\/3 marked one by one, the rest signed off with the whole list/,
    );
    const late = await w.gantry(["handoff", run, "--to", "bo"]);
    assert.equal(late.code, 10, "a finished run takes no handoff");
  });

  it("allowSelfApproval lets the initiator count", async () => {
    const { w, child, run } = await waiting("    allowSelfApproval: true\n", "ana");
    const own = await w.gantry(["approve", run, "--as", "ana"]);
    assert.equal(own.code, 0, own.stderr);
    const reject = await w.gantry(["approve", run, "--as", "bo", "--reject"]);
    assert.equal(reject.code, 0, reject.stderr);
    assert.equal((await child).json?.outcome, "postponed");
  });

  it("a manual rollback that needs two members starts when the second different member asks", async () => {
    const w = await workspace({
      previous: "1.0.0",
      edit: [
        ["deploy:\n", `${ROLES}deploy:\n`],
        ["checkpoints: [T+2s, T+8s]", "checkpoints: [T+2s, T+90s]"],
        ["rollback:\n  target: 30s\n", "rollback:\n  target: 30s\n  approval: { role: leads, count: 2 }\n"],
      ],
    });
    spaces.push(w);
    const child = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"]);
    const run = String((await waitFor(w, (v) => v.monitor !== undefined, undefined, child)).id);
    const ask = (as: string) => w.gantry(["rollback", run, "--reason", `${as} saw errors`, "--as", as]);

    const outsider = await ask("mallory");
    assert.equal(outsider.code, 13, outsider.stderr);
    const stop = await w.gantry(["abort", run, "--as", "mallory"]);
    assert.equal(stop.code, 13, "someone outside the rollback role aborted the run");
    assert.match(
      stop.stderr,
      /mallory may not abort .*: only tester \(who started it\), an administrator or a member of leads/,
    );
    const first = await ask("ana");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /it starts once 2 different members of leads have asked/);
    await waitFor(w, (v) => (v.rollbackAsked as string[]).length === 1, run);
    const twice = await ask("ana");
    assert.equal(twice.code, 10, twice.stderr);
    assert.match(twice.stderr, /ana has already asked to roll back .*asked so far: ana/);
    assert.equal((await w.providerState()).deploys.filter((d) => d.action === "rollback").length, 0);

    const second = await ask("bo");
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /recorded before you: ana/);
    const r = await child;
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    assert.match(String(r.json?.reason), /manual rollback by ana and bo: ana saw errors; bo saw errors/);
    const asked = (await events(w, run)).filter((e) => e.kind === "rollback.requested");
    assert.deepEqual(
      asked.map((e) => [e.data.by, e.data.count, e.data.needed]),
      [
        ["ana", 1, 2],
        ["bo", 2, 2],
      ],
    );
  });
});
