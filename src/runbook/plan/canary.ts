/**
 * The canary steps of a deploy: one per step the runbook writes (shift, hold, checks), and a
 * promotion to 100% after the last one when the runbook ends below it.
 */
import type { Runbook } from "../schema/runbook.js";
import { named } from "./specs.js";
import type { PlanStep } from "./types.js";

export function canarySteps(runbook: Runbook): PlanStep[] {
  const deploy = runbook.deploy;
  if (!deploy) return [];
  const out: PlanStep[] = [];
  const canary = deploy.canary.map((c, i) => ({ ...c, index: i + 1 }));
  const last = canary.at(-1);
  if (last && last.weight < 1) canary.push({ weight: 1, checks: [], index: canary.length + 1 });
  for (const c of canary)
    out.push({
      id: `canary:${c.index}`,
      kind: "canary",
      index: c.index,
      weight: c.weight,
      timeout: deploy.timeout,
      title: c.weight >= 1 ? "canary promoted to 100%" : `canary ${Math.round(c.weight * 1000) / 10}%`,
      checks: c.checks.map((name) => ({ name, ...named(runbook, name) })),
      ...(c.hold || c.checks.length
        ? {
            detail: [
              c.hold ? `hold ${c.hold.text}` : "",
              c.checks.length ? `checks: ${c.checks.join(", ")}` : "",
            ]
              .filter(Boolean)
              .join("; "),
          }
        : {}),
      ...(c.hold ? { hold: c.hold } : {}),
    });
  return out;
}
