/**
 * Who answers a page: each role's (or a component owner's) on-call hours, written like
 * deployment windows, its backup, and the severities it takes outside its hours. `choosePage`
 * walks an escalation list from a position and says whom to page now and why; it is pure, so
 * the same plan, list and recorded time always page the same role.
 */
import { DateTime } from "luxon";
import type { Runbook } from "../schema/runbook.js";
import { describeWindow, insideWindow } from "./window.js";

type Window = Runbook["environments"][string]["windows"][number];

/** When a role answers pages, and who answers instead. */
export interface OnCall {
  backup?: string;
  /** None: at any time; empty: only for `outOfHours` severities. */
  hours?: Window[];
  outOfHours?: string[];
}

export interface PagingComponent extends OnCall {
  owner: string;
  /** The roles paged in turn for an incident of a rule naming the component. */
  escalation: string[];
  /** The monitor rules that name the component. */
  rules: string[];
}

/** The plan's paging part: roles with on-call settings, and the components. */
export interface PagingPlan {
  roles: Record<string, OnCall>;
  components: Record<string, PagingComponent>;
}

/** The paging part of a plan; undefined when no role has on-call settings and there are no components. */
export function pagingPlan(runbook: Runbook): PagingPlan | undefined {
  const roles: Record<string, OnCall> = {};
  for (const [name, r] of Object.entries(runbook.roles)) {
    const own = onCallOf(r);
    if (Object.keys(own).length > 0) roles[name] = own;
  }
  const components: Record<string, PagingComponent> = {};
  const rules = runbook.monitor?.rules ?? [];
  for (const [name, c] of Object.entries(runbook.components)) {
    components[name] = {
      owner: c.owner,
      escalation: c.escalation.length > 0 ? c.escalation : [c.owner],
      ...onCallOf(c),
      rules: rules.filter((r) => r.component === name).map((r) => r.name),
    };
  }
  if (Object.keys(roles).length === 0 && Object.keys(components).length === 0) return undefined;
  return { roles, components };
}

function onCallOf(o: OnCall): OnCall {
  return {
    ...(o.backup ? { backup: o.backup } : {}),
    ...(o.hours ? { hours: o.hours } : {}),
    ...(o.outOfHours?.length ? { outOfHours: o.outOfHours } : {}),
  };
}

export interface PageAsk {
  /** The escalation list, in order. */
  list: string[];
  /** The first position of the list not yet paged. */
  from: number;
  /** The recorded time of the page (epoch ms). */
  at: number;
  severity?: string;
  /** The component the page is for: its `backup`/`hours` apply to its owner. */
  component?: string;
  /** Roles this escalation paged already: never paged twice. */
  paged?: string[];
}

export interface PageChoice {
  /** The role paged; undefined when nobody from `from` on can be paged now. */
  role?: string;
  /** The role of the list the page stands for (its backup may be `role`). */
  asked?: string;
  /** The next position of the list. */
  next: number;
  /** Why, when it is not simply the next role: "dba is off hours (Sat 14:00 EST); paged its backup senior-backend". */
  why?: string;
}

/**
 * Example: the list [dba, manager] on a Saturday, dba with weekday hours and backup
 * senior-backend → `{ role: "senior-backend", asked: "dba", next: 1, why: "dba is off hours
 * (Sat 14:00 EST); paged its backup senior-backend" }`.
 */
export function choosePage(paging: PagingPlan | undefined, ask: PageAsk): PageChoice {
  const paged = new Set(ask.paged ?? []);
  const notes: string[] = [];
  const why = (last: string) => [...notes, last].join("; ");
  for (let i = ask.from; i < ask.list.length; i++) {
    const role = ask.list[i]!;
    const next = i + 1;
    if (paged.has(role)) {
      notes.push(`${role} was paged already`);
      continue;
    }
    const own = onCallFor(paging, role, ask.component);
    const a = answers(own, ask);
    if (a.ok) {
      if (a.note) return { role, asked: role, next, why: why(`${role} is ${a.note}`) };
      return notes.length > 0
        ? { role, asked: role, next, why: why(`paged ${role}`) }
        : { role, asked: role, next };
    }
    const backup = own.backup;
    if (!backup) {
      notes.push(`${role} is ${a.note} and has no backup`);
      continue;
    }
    if (paged.has(backup)) {
      notes.push(`${role} is ${a.note}; its backup ${backup} was paged already`);
      continue;
    }
    const b = answers(onCallFor(paging, backup, undefined), ask);
    if (b.ok)
      return {
        role: backup,
        asked: role,
        next,
        why: why(`${role} is ${a.note}; paged its backup ${backup}`),
      };
    notes.push(`${role} is ${a.note}; its backup ${backup} is ${b.note}`);
  }
  return {
    next: Math.max(ask.from, ask.list.length),
    ...(notes.length > 0 ? { why: why("nobody was paged") } : {}),
  };
}

/** A role's on-call settings, with a component's over them when the role is that component's owner. */
function onCallFor(paging: PagingPlan | undefined, role: string, component: string | undefined): OnCall {
  const own = paging?.roles[role] ?? {};
  const c = component ? paging?.components[component] : undefined;
  if (!c || c.owner !== role) return own;
  return {
    ...own,
    ...(c.backup ? { backup: c.backup } : {}),
    ...(c.hours ? { hours: c.hours } : {}),
    ...(c.outOfHours ? { outOfHours: c.outOfHours } : {}),
  };
}

/** Whether a role with `o` answers a page at `ask.at` of `ask.severity`, and a note when off hours. */
function answers(o: OnCall, ask: PageAsk): { ok: boolean; note?: string } {
  if (!o.hours) return { ok: true };
  const at = DateTime.fromMillis(ask.at);
  if (o.hours.some((w) => insideWindow(w, at))) return { ok: true };
  const zone = o.hours[0]?.timezone ?? "UTC";
  const local = at.setZone(zone).setLocale("en-US").toFormat("ccc HH:mm ZZZZ");
  const off = `off hours (${local})`;
  if (ask.severity && o.outOfHours?.includes(ask.severity))
    return { ok: true, note: `${off}, paged for ${ask.severity}` };
  return { ok: false, note: off };
}

/** The paging part in words, for `gantry plan`. */
export function describePaging(paging: PagingPlan): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(paging.roles)) out.push(`role ${name}: ${describeOnCall(o)}`);
  for (const [name, c] of Object.entries(paging.components)) {
    const own = c.hours || c.backup || c.outOfHours ? `, ${describeOnCall(c, "owner's")}` : "";
    const rules = c.rules.length > 0 ? `; paged for rules ${c.rules.join(", ")}` : "";
    out.push(`component ${name}: owner ${c.owner}${own}; escalation ${c.escalation.join(" → ")}${rules}`);
  }
  return out;
}

/** A role's settings in words; a component's (`owner's`) name only what it sets over its owner's. */
function describeOnCall(o: OnCall, owner?: "owner's"): string {
  const hours =
    o.hours === undefined
      ? owner
        ? undefined
        : "paged at any time"
      : o.hours.length === 0
        ? "no hours"
        : `hours ${o.hours.map(describeWindow).join("; ")}`;
  const out = o.outOfHours?.length ? `out of hours for ${o.outOfHours.join("/")}` : undefined;
  const backup = o.backup ? `backup ${o.backup}` : undefined;
  return [hours, out, backup].filter(Boolean).join(", ");
}
