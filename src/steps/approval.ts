/**
 * An approval: a confirmation, a decision or a checklist sign-off. It waits (durably, with its
 * timeout) for enough distinct people; monitoring keeps sampling meanwhile. A rejection or a
 * timeout ends the run as the runbook says: rolled back after the deploy, aborted before it.
 */
import { formatMs } from "../exec/command.js";
import type { ApprovalStep } from "../runbook/plan/types.js";
import type { StepContext, StepModule, StepResult } from "./contract.js";

export type ApprovalSpec = Pick<ApprovalStep, "what" | "needed" | "timeout" | "onTimeout">;

export const approval: StepModule<"approval"> = {
  kind: "approval",
  mode: "procedure",
  run: (step, ctx) => ask(step.id, step, ctx),
};

/** Asks for `spec` under step `id`; the result's `next` says what a refusal does to the run. */
export async function ask(id: string, spec: ApprovalSpec, ctx: StepContext): Promise<StepResult> {
  const d = ctx.durable;
  const { what, needed } = spec;
  await d.event({ key: `${id}:waiting`, kind: "approval.waiting", step: id, data: { what, needed } });
  await d.notify("approval.requested", id, { reason: what, approval: { what, needed } });
  const approvers = new Set<string>();
  const deadline = spec.timeout ? (await d.now()) + spec.timeout.ms : undefined;
  while (approvers.size < needed) {
    const msg = await d.receive(deadline);
    if (msg === undefined) {
      const reason = `${what}: no answer within ${formatMs(spec.timeout?.ms ?? 0)}`;
      if (spec.onTimeout === "proceed") return { ok: true, message: `${reason}; proceed` };
      if (d.rollingBack) return { ok: false, message: reason };
      if (spec.onTimeout === "rollback" && ctx.facts.deployed)
        return { ok: false, message: `${reason}; rollback`, next: { to: "rollback", cause: { reason } } };
      return {
        ok: false,
        message: `${reason}; ${spec.onTimeout}`,
        next: { to: "finish", outcome: "aborted", reason: `${reason}${ctx.deployedNote()}` },
      };
    }
    if (msg.type === "approve") {
      if (approvers.has(msg.by)) continue;
      approvers.add(msg.by);
      await d.event({
        key: `approval:${id}:${msg.by}`,
        kind: "approval",
        step: id,
        data: { by: msg.by, count: approvers.size, needed },
      });
    } else if (msg.type === "reject") {
      const reason = `${what}: rejected by ${msg.by}${msg.reason ? `: ${msg.reason}` : ""}`;
      if (d.rollingBack) return { ok: false, message: reason };
      if (ctx.facts.deployed)
        return { ok: false, message: reason, next: { to: "rollback", cause: { reason } } };
      return {
        ok: false,
        message: reason,
        next: { to: "finish", outcome: "aborted", reason: `${reason}; nothing was deployed` },
      };
    } else {
      await d.control(msg);
    }
  }
  return { ok: true, message: `approved by ${[...approvers].join(", ")}` };
}
