/**
 * What one identity may do to a run right now, asked of src/app/authorize.ts (the only place
 * that decides it), so that a view shows only the actions that would be accepted. Each
 * answer says why not when it is no.
 */
import type { RunView } from "../engine/state.js";
import { mayAbort, mayApprove, mayChoose, mayMarkItem, mayReject, mayRollBack } from "./authorize.js";
import type { Identity } from "./identity.js";
import { Refusal } from "./refusal.js";

export interface Permission {
  allowed: boolean;
  /** Why not, in the words a refusal would use. */
  reason?: string;
}

export type Action = "approve" | "reject" | "item" | "ack" | "override" | "rollback" | "abort";

export function permissionsOf(view: RunView, who: Identity): Record<Action, Permission> {
  const ask = (check: () => unknown): Permission => {
    try {
      check();
      return { allowed: true };
    } catch (e) {
      if (e instanceof Refusal) return { allowed: false, reason: e.message };
      throw e;
    }
  };
  const finished: Permission = { allowed: false, reason: `run ${view.id} has finished: ${view.outcome}` };
  if (view.outcome) {
    return {
      approve: finished,
      reject: finished,
      item: finished,
      ack: finished,
      override: finished,
      rollback: finished,
      abort: finished,
    };
  }
  const w = view.waiting;
  const nothing = (what: string): Permission => ({
    allowed: false,
    reason: `the run is not waiting for ${what}`,
  });
  const form = w?.form;
  const answerable = w && form !== "ack" && form !== "override";
  // A choice is approved with the option picked: any option says whether this person may pick.
  const approve =
    form === "choice"
      ? () => mayChoose(view, w!, who, w!.options?.[0]?.name)
      : () => mayApprove(view, w!, who);
  return {
    approve: answerable ? ask(approve) : nothing("an approval"),
    reject:
      answerable && form !== "schedule" && form !== "choice"
        ? ask(() => mayReject(view, w, who))
        : nothing("a decision"),
    item: w?.items ? ask(() => mayMarkItem(view, w, who)) : nothing("a checklist"),
    ack: form === "ack" ? { allowed: true } : nothing("an acknowledgement"),
    override: form === "override" ? ask(() => mayApprove(view, w!, who)) : nothing("an override"),
    rollback: ask(() => mayRollBack(view, who)),
    abort: ask(() => mayAbort(view, who)),
  };
}
