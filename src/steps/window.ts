/**
 * The deployment window, judged by the engine when the run starts and again right before the
 * deploy, whoever executes the run (a worker taking a queued release hours later included):
 * the environment's windows and declared freezes, and the freezes people declared with
 * `gantry freeze`, read from the actions log at that moment (a recorded step).
 *
 * Closed, the run waits: until the window opens (then it judges again), or for an override by
 * the roles `environments.<env>.override` names, each with a reason, recorded. An override
 * given when the release was started (`release --override REASON`) is in the plan.
 */
import { DateTime } from "luxon";
import { windowStatus } from "../runbook/plan/window.js";
import type { EnvironmentSpec } from "../runbook/schema/runbook.js";
import { activeFreezes } from "../store/freezes.js";
import { ask } from "./approval.js";
import type { StepModule, StepResult } from "./contract.js";

type Freeze = EnvironmentSpec["freezes"][number];

export const window: StepModule<"window"> = {
  kind: "window",
  mode: "procedure",
  run: async (step, ctx) => {
    const d = ctx.durable;
    for (let round = 0; ; round++) {
      const now = await d.now();
      const read = await d.act(`${step.id}:freezes${round > 0 ? `#${round}` : ""}`, async () => ({
        ok: true,
        message: "freezes read",
        data: { freezes: await activeFreezes(ctx.store, ctx.env, ctx.service, now) },
      }));
      const declared = (read.data?.freezes ?? []) as Freeze[];
      const status = windowStatus(
        { windows: step.windows, freezes: [...step.freezes, ...declared] } as EnvironmentSpec,
        DateTime.fromMillis(now),
      );
      if (status.open) return { ok: true, message: `open: ${status.reason}` };
      // Facts come from recorded parts: the override is one, so the later check knows of it.
      const record = (r: StepResult) => d.act(`${step.id}:override`, async () => r);
      if (step.granted) return record(overridden(status.reason, [step.granted]));
      if (ctx.facts.windowOverride)
        return overridden(status.reason, ctx.facts.windowOverride, "earlier in this run");
      const closed = `${ctx.env} is closed for deploys: ${status.reason}${status.nextOpen ? `; it next opens ${status.nextOpen}` : ""}`;
      await d.event({
        key: `${step.id}:closed${round > 0 ? `#${round}` : ""}`,
        kind: "window.closed",
        step: step.id,
        data: { reason: status.reason, nextOpen: status.nextOpen ?? null, override: step.override ?? null },
      });
      if (!step.override) {
        // Nobody may override: wait for the window, then judge again.
        if (!status.nextOpen) return closedForGood(closed);
        await d.waitUntil(Date.parse(status.nextOpen));
        continue;
      }
      const untilOpen = status.nextOpen ? Math.max(0, Date.parse(status.nextOpen) - now) : undefined;
      const answer = await ask(
        step.id,
        {
          what: `override: ${closed}`,
          form: "override",
          needed: step.override.count,
          approvers: step.override.roles.map((role) => ({ role, count: step.override!.count })),
          allowSelfApproval: true,
          inputs: [],
          onTimeout: "proceed",
          ...(untilOpen !== undefined
            ? { timeout: { ms: untilOpen, text: `${Math.round(untilOpen / 1000)}s` } }
            : {}),
        },
        ctx,
        round,
      );
      if (!answer.ok) return answer;
      const given = (answer.data?.approvals ?? []) as Array<{ by: string; role?: string; comment?: string }>;
      // No answer before the window opened: judge again.
      if (given.length === 0) continue;
      return record(
        overridden(
          status.reason,
          given.map((g) => ({ by: g.by, role: g.role ?? "", reason: g.comment ?? "" })),
        ),
      );
    }
  },
  onFail: (_step, r, ctx) => ({
    to: "finish",
    outcome: "aborted",
    reason: `${r.message}${ctx.deployedNote()}`,
  }),
};

function overridden(
  reason: string,
  by: Array<{ by: string; role: string; reason: string }>,
  when = "",
): StepResult {
  const who = by.map((o) => `${o.by}${o.role ? ` (${o.role})` : ""}: ${o.reason}`).join("; ");
  return {
    ok: true,
    message: `closed (${reason}), overridden${when ? ` ${when}` : ""} by ${who}`,
    data: { override: by },
    facts: { windowOverride: by },
  };
}

function closedForGood(closed: string): StepResult {
  return {
    ok: false,
    message: `${closed}, and it does not open within a year; no role may override (environments.<env>.override)`,
  };
}
