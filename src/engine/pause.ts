/**
 * A rule whose tier pauses the release waits for a person: approving continues, rejecting
 * rolls back, abort stops. Sampling rests meanwhile. The rule's severity times the answer
 * (AckTimer, src/engine/sla.ts) when the runbook gives it a response target.
 */
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { ControlMessage, RollbackCause } from "../steps/contract.js";
import type { RunDurable } from "./durable.js";
import type { Notifier } from "./notifier.js";
import { AckTimer, type Alarm } from "./sla.js";

export interface PauseHooks {
  plan: ReleasePlan;
  durable: RunDurable;
  notifier: Notifier;
  rollback(cause: RollbackCause): Promise<never>;
  control(msg: ControlMessage): Promise<void>;
}

export async function pauseForPerson(
  key: string,
  reason: string,
  alarm: Alarm | undefined,
  hooks: PauseHooks,
): Promise<void> {
  const { durable: d, notifier } = hooks;
  const what = `continue after: ${reason}`;
  await d.event({
    key,
    kind: "approval.waiting",
    step: key,
    data: { what, needed: 1, form: "pause", approvers: [], allowSelfApproval: true },
  });
  await notifier.emit("approval.requested", key, { reason, approval: { what, needed: 1 } });
  const timer = alarm ? await AckTimer.start(hooks.plan, key, alarm, d, notifier) : undefined;
  for (;;) {
    const msg = await d.receive(timer?.deadline);
    if (msg === undefined) {
      await timer?.breached(`rule paused the release (${reason})`);
      continue;
    }
    if (msg.type === "approve" || msg.type === "reject") await timer?.answered(msg.by, await d.now());
    if (msg.type === "approve") {
      await d.finished(key, "passed", `continued by ${msg.by}`);
      return;
    }
    if (msg.type === "reject") await hooks.rollback({ reason: `${reason}; rejected by ${msg.by}` });
    await hooks.control(msg);
  }
}
