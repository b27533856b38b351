/** Names that identify steps must be unique within their list. */
import type { Path } from "../diagnostics.js";
import type { RunbookRule } from "./context.js";

export const uniqueNames: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const lists: Array<[string, Path, Array<{ name?: string | undefined }>]> = [
    ["gate", ["gates"], rb.gates],
    ["smoke test", ["smoke"], rb.smoke.map((s) => ({ name: s.name ?? ("check" in s ? s.check : undefined) }))],
    ["integrity check", ["integrity"], rb.integrity],
    ["decision", ["decisions"], rb.decisions],
    ["checklist", ["checklists"], rb.checklists],
    ["rule", ["monitor", "rules"], rb.monitor?.rules ?? []],
    ["pre-flight item", ["preflight"], rb.preflight],
    ["rollback step", ["rollback", "steps"], rb.rollback?.steps ?? []],
  ];
  for (const [kind, base, items] of lists) {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      if (item.name === undefined) return;
      const first = seen.get(item.name);
      if (first === undefined) seen.set(item.name, i);
      else ctx.error([...base, i, "name"], `duplicate ${kind} name \`${item.name}\` (first used at ${[...base].join(".")}[${first}]); names must be unique`);
    });
  }
  const steps = new Map<string, string>();
  const claim = (name: string, where: string, path: Path) => {
    const other = steps.get(name);
    if (other) ctx.error(path, `\`${name}\` names both ${other} and ${where}; use different names so the plan and log stay unambiguous`);
    else steps.set(name, where);
  };
  rb.gates.forEach((g, i) => claim(g.name, `gates[${i}]`, ["gates", i, "name"]));
  rb.decisions.forEach((d, i) => claim(d.name, `decisions[${i}]`, ["decisions", i, "name"]));
  rb.checklists.forEach((c, i) => claim(c.name, `checklists[${i}]`, ["checklists", i, "name"]));
};
