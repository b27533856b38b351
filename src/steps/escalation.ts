/**
 * An escalation list paged one role at a time (an SLA's, a component's, an approval's
 * reminders). Who is paged depends on the roles' on-call hours at the page's recorded time
 * (src/runbook/plan/on-call.ts): a role off hours gives way to its backup, or to the next role
 * of the list, unless it takes the page's severity out of hours. Each call of `next` with the
 * same recorded time returns what it returned the first time, so a replay pages the same roles.
 */
import { choosePage } from "../runbook/plan/on-call.js";
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { Moment } from "./contract.js";

export interface Page {
  /** The page's `page` (role, members, why) for messages; undefined when nobody is paged. */
  page?: NonNullable<Moment["page"]>;
  /** Why, when it is not simply the next role of the list. */
  why?: string;
}

export class Escalation {
  private level = 0;
  private readonly paged: string[] = [];

  constructor(
    private readonly plan: Pick<ReleasePlan, "paging" | "roles">,
    readonly list: readonly string[],
    private readonly about: { severity?: string; component?: string } = {},
  ) {}

  /** Whether every role of the list has had its turn. */
  get done(): boolean {
    return this.level >= this.list.length;
  }

  /** The next page; `now` (the recorded time) is read only when on-call hours could matter. */
  async next(now: () => Promise<number>): Promise<Page> {
    if (this.done) return {};
    const at = this.plan.paging ? await now() : 0;
    const c = choosePage(this.plan.paging, {
      list: [...this.list],
      from: this.level,
      at,
      paged: this.paged,
      ...this.about,
    });
    this.level = c.next;
    if (!c.role) return c.why ? { why: c.why } : {};
    this.paged.push(c.role);
    const page = {
      role: c.role,
      members: this.plan.roles[c.role] ?? [],
      ...(c.asked && c.asked !== c.role ? { for: c.asked } : {}),
      ...(c.why ? { why: c.why } : {}),
    };
    return { page, ...(c.why ? { why: c.why } : {}) };
  }
}

/** A page's reason with why it went where it went: "… not acknowledged within 5m; dba is off hours …". */
export function withWhy(reason: string, p: Page): string {
  return p.why ? `${reason}; ${p.why}` : reason;
}
