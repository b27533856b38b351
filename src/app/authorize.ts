/**
 * Who may do what to a run: the one place Gantry decides it. Every verb of the CLI and every
 * route of the HTTP API that acts on a run asks here first, with the identity that acts
 * (src/app/identity.ts) and the run as its log has it.
 *
 * - An approval (a decision, a checklist sign-off, a confirmation) counts only from a member
 *   of a role it names: each role needs its own count of distinct members, and one person
 *   counts once, for one role.
 * - The person who started the release may not approve it unless the runbook allows it
 *   (`allowSelfApproval: true`); confirmations and paused rules allow it.
 * - A manual rollback needs a member of `rollback.approval.role` when the runbook names one.
 * - Aborting a run needs the same role, or to be the person who started it, or an
 *   administrator: whoever may take the release back may also stop it.
 * - Role members are the runbook's (`roles.<name>.members`, recorded when the run was created)
 *   and the roles an identity was given in Gantry's store (`gantry users add NAME --role R`).
 */
import type { RunView, Waiting } from "../engine/state.js";
import type { Identity } from "./identity.js";
import { Refusal } from "./refusal.js";

export function isMember(view: Pick<RunView, "roles">, who: Identity, role: string): boolean {
  return (view.roles[role] ?? []).includes(who.name) || who.roles.includes(role);
}

/** The role `who`'s approval of what the run waits for counts for (undefined: it names no roles). */
export function mayApprove(
  view: RunView,
  waiting: Waiting,
  who: Identity,
  options: { role?: string } = {},
): { role?: string } {
  if (waiting.approvals.includes(who.name)) {
    throw new Refusal(
      "not-accepted",
      `${who.name} has already approved ${waiting.what}; each person counts once (${waiting.approvals.length}/${waiting.needed}).`,
    );
  }
  if (!waiting.allowSelfApproval && who.name === view.operator) {
    throw new Refusal(
      "forbidden",
      `${who.name} started this release and cannot approve its own ${waiting.what}; ${wanted(view, waiting)} must.`,
      ["A runbook can allow it for one decision or checklist with `allowSelfApproval: true`."],
    );
  }
  if (waiting.approvers.length === 0) return {};
  const mine = waiting.approvers.filter((a) => isMember(view, who, a.role));
  if (mine.length === 0) {
    throw new Refusal("forbidden", `${who.name} may not approve ${waiting.what}: ${notIn(view, waiting)}.`);
  }
  if (options.role !== undefined && !mine.some((a) => a.role === options.role)) {
    throw new Refusal(
      "forbidden",
      `${who.name} cannot approve ${waiting.what} as ${options.role}: ${waiting.approvers.some((a) => a.role === options.role) ? `not a member (members: ${members(view, options.role)})` : `it needs ${waiting.approvers.map((a) => a.role).join(", ")}`}.`,
    );
  }
  const open = mine.filter(
    (a) => (options.role === undefined || a.role === options.role) && counted(waiting, a.role) < a.count,
  );
  if (open.length === 0) {
    throw new Refusal(
      "not-accepted",
      `${mine.map((a) => `${a.role} already has its ${a.count} approval${a.count === 1 ? "" : "s"}`).join("; ")}; still needed: ${remaining(waiting)}.`,
    );
  }
  return { role: open[0]!.role };
}

/**
 * A rollback choice: one member of the role it names picks one of its options, by name. A
 * pick that names no option is refused with the options listed.
 */
export function mayChoose(
  view: RunView,
  waiting: Waiting,
  who: Identity,
  choice: string | undefined,
): { role: string } {
  const options = waiting.options ?? [];
  const listed = options.map((o) => `${o.name}${o.description ? ` (${o.description})` : ""}`).join("; ");
  if (choice === undefined || !options.some((o) => o.name === choice))
    throw new Refusal(
      "not-accepted",
      `${waiting.what} is answered with the option to take: ${choice === undefined ? "none given" : `\`${choice}\` is not one of them`}; options: ${listed}`,
      [`gantry approve ${view.id} --choice ${options[0]?.name ?? "NAME"}`],
    );
  const mine = waiting.approvers.find((a) => isMember(view, who, a.role));
  if (!mine)
    throw new Refusal(
      "forbidden",
      `${who.name} may not choose for ${waiting.what}: ${notIn(view, waiting)}.`,
    );
  return { role: mine.role };
}

/** A rejection ends the decision: it must come from someone who may approve it. */
export function mayReject(view: RunView, waiting: Waiting, who: Identity): { role?: string } {
  if (waiting.approvers.length === 0) return {};
  const mine = waiting.approvers.find((a) => isMember(view, who, a.role));
  if (!mine)
    throw new Refusal("forbidden", `${who.name} may not reject ${waiting.what}: ${notIn(view, waiting)}.`);
  return { role: mine.role };
}

/** Marking one checklist item done: any member of a role the checklist names (the initiator too). */
export function mayMarkItem(view: RunView, waiting: Waiting, who: Identity): { role?: string } {
  if (waiting.approvers.length === 0) return {};
  const mine = waiting.approvers.find((a) => isMember(view, who, a.role));
  if (!mine)
    throw new Refusal(
      "forbidden",
      `${who.name} may not sign off items of ${waiting.what}: ${notIn(view, waiting)}.`,
    );
  return { role: mine.role };
}

/** A manual rollback: by a member of the runbook's rollback approval role, when it names one. */
export function mayRollBack(view: RunView, who: Identity): void {
  const role = view.rollbackBy;
  if (role !== undefined && !isMember(view, who, role))
    throw new Refusal(
      "forbidden",
      `${who.name} may not roll back ${view.id}: rollback.approval names role ${role} (members: ${members(view, role)}).`,
    );
  if (view.rollbackCount > 1 && view.rollbackAsked.includes(who.name))
    throw new Refusal(
      "not-accepted",
      `${who.name} has already asked to roll back ${view.id}; it needs ${view.rollbackCount} different members of ${role} (asked so far: ${view.rollbackAsked.join(", ")}).`,
    );
}

/** Stopping a run for good: its operator, an administrator, or a member of the rollback approval role. */
export function mayAbort(view: RunView, who: Identity): void {
  const role = view.rollbackBy;
  if (role === undefined || who.admin || who.name === view.operator || isMember(view, who, role)) return;
  throw new Refusal(
    "forbidden",
    `${who.name} may not abort ${view.id}: only ${view.operator} (who started it), an administrator or a member of ${role} (members: ${members(view, role)}) may.`,
  );
}

function counted(waiting: Waiting, role: string): number {
  return waiting.counted.filter((c) => c.role === role).length;
}

function members(view: RunView, role: string): string {
  const names = view.roles[role] ?? [];
  return names.length > 0 ? names.join(", ") : "none in the runbook";
}

function notIn(view: RunView, waiting: Waiting): string {
  return waiting.approvers.map((a) => `not in ${a.role} (members: ${members(view, a.role)})`).join("; ");
}

function remaining(waiting: Waiting): string {
  const left = waiting.approvers
    .map((a) => ({ role: a.role, more: a.count - counted(waiting, a.role) }))
    .filter((a) => a.more > 0);
  return left.length > 0 ? left.map((a) => `${a.more} of ${a.role}`).join(", ") : "nothing";
}

function wanted(view: RunView, waiting: Waiting): string {
  if (waiting.approvers.length === 0) return "someone else";
  return `someone else in ${waiting.approvers.map((a) => `${a.role} (members: ${members(view, a.role)})`).join(" or ")}`;
}
