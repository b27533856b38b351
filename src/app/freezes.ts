/**
 * Freezes declared by people (`gantry freeze ENV --until … --reason …`) and overrides of a
 * closed window. Anyone who may act may declare a freeze (stopping deploys is always safe);
 * lifting one early takes the person who declared it or an administrator. An override is an
 * approval of the window step, checked in src/app/authorize.ts like every other.
 */
import { randomBytes } from "node:crypto";
import type { Control } from "../engine/control.js";
import type { ReleasePlan, WindowStep } from "../runbook/plan/types.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import type { EventStore } from "../store/events.js";
import { type DeclaredFreeze, declaredFreezes } from "../store/freezes.js";
import { isMember } from "./authorize.js";
import type { Identity } from "./identity.js";
import { Refusal } from "./refusal.js";
import { answer } from "./runs.js";

export interface FreezeRequest {
  environment: string;
  service?: string;
  from: Date;
  until: Date;
  reason: string;
}

export async function declareFreeze(
  store: EventStore,
  who: Identity,
  r: FreezeRequest,
): Promise<DeclaredFreeze> {
  if (!(r.until.getTime() > r.from.getTime()))
    throw new Refusal(
      "blocked",
      `a freeze must end after it starts (from ${r.from.toISOString()}, until ${r.until.toISOString()})`,
    );
  if (r.until.getTime() <= Date.now())
    throw new Refusal("blocked", `that freeze would already be over (until ${r.until.toISOString()})`);
  const freeze: DeclaredFreeze = {
    id: `frz-${randomBytes(4).toString("hex")}`,
    environment: r.environment,
    ...(r.service ? { service: r.service } : {}),
    from: r.from.toISOString(),
    until: r.until.toISOString(),
    reason: r.reason,
    by: who.name,
  };
  await store.append(ACTIONS_LOG, {
    key: `freeze.declared:${freeze.id}`,
    kind: "freeze.declared",
    data: { ...freeze, authenticated: who.authenticated },
  });
  return freeze;
}

export async function liftFreeze(
  store: EventStore,
  who: Identity,
  id: string,
  reason?: string,
): Promise<DeclaredFreeze> {
  const freeze = (await declaredFreezes(store)).find((f) => f.id === id);
  if (!freeze) throw new Refusal("not-found", `no freeze ${id} (gantry freezes lists them)`);
  if (freeze.lifted)
    throw new Refusal(
      "not-accepted",
      `freeze ${id} was already lifted by ${freeze.lifted.by} at ${freeze.lifted.at}`,
    );
  if (freeze.by !== who.name && !who.admin)
    throw new Refusal(
      "forbidden",
      `${who.name} may not lift freeze ${id}: only ${freeze.by}, who declared it, or an administrator may`,
    );
  await store.append(ACTIONS_LOG, {
    key: `freeze.lifted:${id}`,
    kind: "freeze.lifted",
    data: { id, by: who.name, ...(reason ? { reason } : {}) },
  });
  return freeze;
}

export { declaredFreezes };

/** Overrides the closed window the run waits at, as `who`, with a reason. */
export async function overrideWindow(control: Control, runId: string, who: Identity, reason: string) {
  const view = await control.view(runId);
  if (view?.waiting && view.waiting.form !== "override") {
    throw new Refusal(
      "not-accepted",
      `run ${runId} waits for ${view.waiting.what}, not at a closed window; answer it with gantry approve`,
    );
  }
  return answer(control, runId, who, { comment: reason });
}

/**
 * The plan with an override given at the start (`release --override REASON`): `who` must be
 * a member of a role the environment's override names; only an override that one person can
 * give (count 1) can be given this way.
 */
export function grantOverride(plan: ReleasePlan, who: Identity, reason: string): ReleasePlan {
  const step = plan.phases.flatMap((p) => p.steps).find((s): s is WindowStep => s.kind === "window");
  const override = step?.override;
  if (!override)
    throw new Refusal(
      "forbidden",
      `${plan.environment} declares no override (environments.${plan.environment}.override): nobody may deploy outside its window`,
    );
  const role = override.roles.find((r) => isMember({ roles: plan.roles }, who, r));
  if (!role)
    throw new Refusal(
      "forbidden",
      `${who.name} may not override the window of ${plan.environment}: ${override.roles.map((r) => `not in ${r} (members: ${(plan.roles[r] ?? []).join(", ") || "none in the runbook"})`).join("; ")}`,
    );
  if (override.count > 1)
    throw new Refusal(
      "forbidden",
      `an override of ${plan.environment} needs ${override.count} people: start the release without --override, then each runs gantry override RUN --reason …`,
    );
  const granted = { by: who.name, role, reason };
  return {
    ...plan,
    phases: plan.phases.map((p) => ({
      ...p,
      steps: p.steps.map((s) => (s.kind === "window" ? { ...s, granted } : s)),
    })),
  };
}
