/** Names that identify steps must be unique within their list. */
import type { Path } from "../diagnostics.js";
import type { RunbookRule } from "./context.js";

export const uniqueNames: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const lists: Array<[string, Path, Array<{ name?: string | undefined }>]> = [
    ["gate", ["gates"], rb.gates],
    [
      "smoke test",
      ["smoke"],
      rb.smoke.map((s) => ({ name: s.name ?? ("check" in s ? s.check : undefined) })),
    ],
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
      else
        ctx.error(
          [...base, i, "name"],
          `duplicate ${kind} name \`${item.name}\` (first used at ${[...base].join(".")}[${first}]); names must be unique`,
        );
    });
  }
  // Decisions and checklists wait for people by name (gantry approve RUN NAME): one namespace.
  const waits = new Map<string, string>();
  const claim = (name: string, where: string, path: Path) => {
    const other = waits.get(name);
    if (other === undefined) waits.set(name, where);
    else if (other.split("[")[0] !== where.split("[")[0]) {
      ctx.error(
        path,
        `\`${name}\` names both ${other} and ${where}; people approve by name, so use different names`,
      );
    }
  };
  rb.decisions.forEach((d, i) => claim(d.name, `decisions[${i}]`, ["decisions", i, "name"]));
  rb.checklists.forEach((c, i) => claim(c.name, `checklists[${i}]`, ["checklists", i, "name"]));
};
