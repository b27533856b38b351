import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRunbookText } from "../load.js";
import { choosePage, describePaging, pagingPlan } from "./on-call.js";
import { plan } from "./plan.js";
import { renderPlan } from "./render.js";

const HEAD = `apiVersion: gantry/v1
metadata: { name: t, service: web }
environments:
  production: { url: https://example.com }
`;

const DEPLOY = "deploy: { provider: command, deploy: ./deploy.sh, rollback: ./rollback.sh }\n";

const RUNBOOK = `${HEAD}roles:
  dba:
    members: [dmitri]
    backup: senior-backend
    hours:
      - { days: [mon, tue, wed, thu, fri], start: "09:00", end: "21:00", timezone: America/New_York }
    outOfHours: [P0]
  senior-backend: { members: [ben] }
  manager:
    members: [miguel]
    hours: [{ days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", timezone: Europe/Berlin }]
  devops-lead: { members: [dana] }
  senior-devops: { members: [sam] }
  sre-lead: { members: [sofia], hours: [], outOfHours: [P0] }
components:
  database: { owner: dba, escalation: [dba, senior-backend, manager] }
  staging:
    owner: devops-lead
    backup: senior-devops
    hours: [{ days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00", timezone: America/New_York }]
    escalation: [devops-lead, manager]
  replit: { owner: devops-lead }
${DEPLOY}rollback:
  target: 15m
  steps: [{ revert: true }]
monitor:
  checkpoints: [T+0, T+15m]
  signals:
    pool: { type: command, run: echo 0.5 }
    errors: { type: command, run: echo 0.01 }
  rules:
    - { name: pool, when: pool > 0.8, severity: P1, component: database }
    - { name: errors, when: errors > 0.05, severity: P0 }
`;

const runbook = loadRunbookText(RUNBOOK, "t.yaml").runbook!;
const paging = pagingPlan(runbook)!;
/** Saturday 2025-10-11 14:00 in New York (18:00 UTC). */
const SATURDAY = Date.parse("2025-10-11T18:00:00Z");
/** Tuesday 2025-10-07 10:00 in New York (14:00 UTC, 16:00 in Berlin). */
const TUESDAY = Date.parse("2025-10-07T14:00:00Z");
/** Tuesday 2025-10-07 22:30 in New York: after the DBA's 21:00. */
const TUESDAY_NIGHT = Date.parse("2025-10-08T02:30:00Z");

describe("on-call hours", () => {
  it("pages a role inside its hours, with no reason given", () => {
    assert.deepEqual(choosePage(paging, { list: ["dba"], from: 0, at: TUESDAY, severity: "P1" }), {
      role: "dba",
      asked: "dba",
      next: 1,
    });
  });

  it("pages the backup of a role off hours, and says why in the role's time zone", () => {
    const c = choosePage(paging, { list: ["dba", "manager"], from: 0, at: SATURDAY, severity: "P1" });
    assert.deepEqual(c, {
      role: "senior-backend",
      asked: "dba",
      next: 1,
      why: "dba is off hours (Sat 14:00 EDT); paged its backup senior-backend",
    });
    const night = choosePage(paging, { list: ["dba"], from: 0, at: TUESDAY_NIGHT, severity: "P2" });
    assert.equal(night.role, "senior-backend", "21:00 is the end: 22:30 is off hours");
  });

  it("pages a role off hours for a severity it takes out of hours (P0 only)", () => {
    const c = choosePage(paging, { list: ["dba"], from: 0, at: SATURDAY, severity: "P0" });
    assert.deepEqual(c, {
      role: "dba",
      asked: "dba",
      next: 1,
      why: "dba is off hours (Sat 14:00 EDT), paged for P0",
    });
    const none = choosePage(paging, { list: ["sre-lead"], from: 0, at: TUESDAY, severity: "P1" });
    assert.equal(none.role, undefined, "empty hours: paged only for the outOfHours severities");
    assert.equal(
      choosePage(paging, { list: ["sre-lead"], from: 0, at: TUESDAY, severity: "P0" }).role,
      "sre-lead",
    );
  });

  it("goes on to the next role when one is off hours without a backup, and never pages a role twice", () => {
    // Saturday: dba's backup senior-backend was paged already; manager (Berlin weekdays) is off too.
    const c = choosePage(paging, {
      list: ["dba", "senior-backend", "manager"],
      from: 0,
      at: SATURDAY,
      paged: ["senior-backend"],
    });
    assert.deepEqual(c, {
      next: 3,
      why: "dba is off hours (Sat 14:00 EDT); its backup senior-backend was paged already; senior-backend was paged already; manager is off hours (Sat 20:00 GMT+2) and has no backup; nobody was paged",
    });
    const weekday = choosePage(paging, { list: ["sre-lead", "manager"], from: 0, at: TUESDAY });
    assert.deepEqual(weekday, {
      role: "manager",
      asked: "manager",
      next: 2,
      why: "sre-lead is off hours (Tue 14:00 UTC) and has no backup; paged manager",
    });
  });

  it("applies a component's hours and backup to its owner only when paged for that component", () => {
    const saturday = { list: ["devops-lead"], from: 0, at: SATURDAY, severity: "P1" };
    assert.equal(choosePage(paging, { ...saturday, component: "staging" }).role, "senior-devops");
    assert.equal(choosePage(paging, { ...saturday, component: "replit" }).role, "devops-lead");
    assert.equal(choosePage(paging, saturday).role, "devops-lead");
    assert.equal(choosePage(undefined, saturday).role, "devops-lead", "no paging part: always");
  });

  it("is in the plan: components with their escalation and the rules that name them", () => {
    assert.deepEqual(paging.components.database, {
      owner: "dba",
      escalation: ["dba", "senior-backend", "manager"],
      rules: ["pool"],
    });
    assert.deepEqual(paging.components.replit?.escalation, ["devops-lead"], "default: the owner alone");
    const p = plan(runbook, {
      env: "production",
      ref: "v1.0.0",
      at: "2025-10-07T10:00:00-04:00",
      atGiven: true,
      file: "t.yaml",
    });
    assert.ok(p.ok);
    assert.deepEqual(JSON.parse(JSON.stringify(p.plan.paging)), paging);
    const text = renderPlan(p.plan);
    assert.match(text, /rule {3}pool: pool > 0\.8 for 0s → P1 rollback; component database/);
    assert.match(
      text,
      /component database: owner dba; escalation dba → senior-backend → manager; paged for rules pool/,
    );
    assert.match(
      text,
      /component staging: owner devops-lead, hours mon,tue,wed,thu,fri 09:00–18:00 America\/New_York, backup senior-devops; escalation devops-lead → manager/,
    );
    assert.match(text, /role sre-lead: no hours, out of hours for P0/);
    assert.ok(
      describePaging(paging).includes(
        "role dba: hours mon,tue,wed,thu,fri 09:00–21:00 America/New_York, out of hours for P0, backup senior-backend",
      ),
    );
    const bare = loadRunbookText(`${HEAD}roles:\n  a: { members: [x] }\n${DEPLOY}`, "t.yaml").runbook!;
    assert.equal(pagingPlan(bare), undefined, "a runbook without on-call settings has no paging part");
  });
});

/** The problems about people: roles, components, a rule's component. */
const found = (text: string) =>
  loadRunbookText(text, "t.yaml")
    .diagnostics.filter((d) => /^(roles|components|monitor\.rules\[\d+\]\.component)/.test(d.path))
    .map((d) => `${d.severity} ${d.path}: ${d.message}`);

describe("on-call validation", () => {
  it("names unknown roles and components by their YAML path", () => {
    const text = `${HEAD}roles:
  dba: { members: [d], backup: senior-backnd }
  senior-backend: { members: [b] }
components:
  database: { owner: dbaa, backup: senior-backend, escalation: [dba, manager] }
monitor:
  checkpoints: [T+0]
  signals:
    pool: { type: command, run: echo 0.5 }
  rules:
    - { name: pool, when: pool > 0.8, severity: P1, component: databse }
`;
    assert.deepEqual(found(text), [
      "error roles.dba.backup: unknown role `senior-backnd`; did you mean `senior-backend`?",
      "error components.database.owner: unknown role `dbaa`; did you mean `dba`?",
      "error components.database.escalation[1]: unknown role `manager`; declared roles: dba, senior-backend",
      "error monitor.rules[0].component: unknown component `databse`; did you mean `database`?",
    ]);
  });

  it("refuses bad hours: a clock, a time zone, an end before the start, a role its own backup", () => {
    const text = `${HEAD}roles:
  dba:
    members: [d]
    backup: dba
    hours:
      - { days: [mon], start: "9:00", end: "21:00" }
      - { days: [sat], start: "10:00", end: "16:00", timezone: America/Nowhere }
      - { days: [sun], start: "16:00", end: "10:00" }
    outOfHours: [P5]
  sre: { members: [s], outOfHours: [P0] }
`;
    const problems = found(text);
    assert.ok(
      problems.some((p) => p.startsWith("error roles.dba.hours[0].start: bad time `9:00`: write HH:MM")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("error roles.dba.outOfHours[0]:")),
      problems.join("\n"),
    );
    const valid = `${HEAD}roles:
  dba:
    members: [d]
    backup: dba
    hours:
      - { days: [sat], start: "10:00", end: "16:00", timezone: America/Nowhere }
      - { days: [sun], start: "16:00", end: "10:00" }
  sre: { members: [s], outOfHours: [P0] }
`;
    assert.deepEqual(found(valid), [
      "error roles.dba.backup: `dba` cannot be its own backup; name another role, or leave backup out",
      "error roles.dba.hours[0].timezone: unknown time zone `America/Nowhere`; use an IANA name such as America/New_York or UTC",
      "error roles.dba.hours[1].end: on-call hours end (10:00) before they start (16:00); for hours across midnight, write two entries",
      "warning roles.sre.outOfHours: outOfHours has no effect without hours: a role without hours is paged at any time; add hours, or remove outOfHours",
    ]);
  });
});
