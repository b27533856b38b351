/**
 * What this version of Gantry can execute. `gantry release` refuses a runbook that uses
 * anything else, naming each part, rather than run a release while silently skipping a
 * part the runbook relies on. `gantry plan` lists the same parts.
 */
import { PROBE_TYPES, type Probe } from "./runbook/schema/probes.js";
import type { Runbook } from "./runbook/schema/runbook.js";

/** Probe types the engine can measure: every type (src/probes/; a test keeps this equal to the registry). */
export const EXECUTABLE_PROBES: ReadonlySet<string> = new Set(PROBE_TYPES);
/** Deploy providers built in (src/providers/); others are driven through `command`. */
export const EXECUTABLE_PROVIDERS: ReadonlySet<string> = new Set(["command", "local-process"]);
/** Sections whose every form this version executes, and those it does not execute at all yet. */
export const NOT_YET: readonly string[] = ["notify", "schedule"];

/**
 * The parts of `runbook` (for environment `env`) this version cannot execute, each as
 * `<where> (<why>)`, e.g. `deploy (provider vercel: use provider command, see docs/providers.md)`.
 */
export function notExecutable(runbook: Runbook, env?: string): string[] {
  const out: string[] = [];
  const applies = (item: { only?: string[] | undefined }) =>
    env === undefined || item.only === undefined || item.only.includes(env);
  for (const section of NOT_YET) {
    const value = (runbook as Record<string, unknown>)[section];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out.push(section);
  }
  const probe = (where: string, p: Probe | undefined) => {
    if (p && !EXECUTABLE_PROBES.has(p.type)) out.push(`${where} (probe type ${p.type})`);
  };
  // Named checks get their before-the-deploy value measured (plan's baseline steps); an inline one does not.
  const inline = (where: string, p: Probe) => {
    probe(where, p);
    if (p.type === "postgres" && p.baseline)
      out.push(`${where} (postgres baseline: make it a named check, or an integrity check)`);
  };
  // A named check is reported once, however many steps use it.
  const check = (_where: string, name: string) => probe(`checks.${name}`, runbook.checks[name]);
  runbook.preflight.forEach((item, i) => {
    if (applies(item) && item.check) check(`preflight.${i}`, item.check);
  });
  for (const [name, e] of Object.entries(runbook.environments)) {
    if (env === undefined || env === name)
      e.validate.forEach((c) => check(`environments.${name}.validate`, c));
  }
  const deploy = runbook.deploy;
  if (deploy && !EXECUTABLE_PROVIDERS.has(deploy.provider)) {
    out.push(`deploy (provider ${deploy.provider}: use provider command, see docs/providers.md)`);
  }
  if (deploy && deploy.canary.length > 0) out.push("deploy.canary");
  runbook.smoke.forEach((s, i) => {
    if ("check" in s) {
      if (applies(s)) check(`smoke.${i}`, s.check);
    } else inline(`smoke.${i}`, s);
  });
  for (const [name, p] of Object.entries(runbook.monitor?.signals ?? {}))
    inline(`monitor.signals.${name}`, p);
  for (const c of runbook.monitor?.checkpoints ?? [])
    for (const n of c.checks) check(`checkpoint ${c.at.text}`, n);
  runbook.rollback?.steps.forEach((s, i) => {
    if (s.notify) out.push(`rollback.steps.${i} (notify)`);
    if (s.check) check(`rollback.steps.${i}`, s.check);
  });
  return [...new Set(out)];
}
