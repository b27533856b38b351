/** A rollback `choose:` step: options named once, a default among them, conditions on monitored signals, someone or something that chooses. */
import { subjectsOf } from "../condition.js";
import { rollbackChoices } from "../rollback-steps.js";
import { type RunbookRule, unknownName } from "./context.js";

export const rollbackChoicesValid: RunbookRule = (ctx) => {
  const signals = Object.keys(ctx.runbook.monitor?.signals ?? {});
  for (const { path, choice } of rollbackChoices(ctx.runbook.rollback)) {
    const at = [...path, "choose"];
    const names = choice.options.map((o) => o.name);
    choice.options.forEach((option, j) => {
      const first = names.indexOf(option.name);
      if (first !== j)
        ctx.error(
          [...at, "options", j, "name"],
          `duplicate option name \`${option.name}\` (first used at ${at.join(".")}.options[${first}]); a person picks an option by its name`,
        );
      const stepNames = option.steps.map((s) => s.name);
      option.steps.forEach((s, k) => {
        if (s.name !== undefined && stepNames.indexOf(s.name) !== k)
          ctx.error(
            [...at, "options", j, "steps", k, "name"],
            `duplicate step name \`${s.name}\` in option \`${option.name}\`; names must be unique`,
          );
      });
      for (const subject of option.when ? subjectsOf(option.when) : []) {
        if (signals.includes(subject)) continue;
        ctx.error([...at, "options", j, "when"], () =>
          signals.length > 0
            ? unknownName("signal", subject, signals, "monitor.signals")
            : `a condition reads the monitor's signals, and this runbook has no monitor.signals; declare \`${subject}\` there, or let \`by\` or \`default\` choose`,
        );
      }
    });
    if (!names.includes(choice.default))
      ctx.error([...at, "default"], () =>
        unknownName("option", choice.default, names, `${at.join(".")}.options`),
      );
    if (choice.timeout && !choice.by)
      ctx.error(
        [...at, "timeout"],
        "`timeout` is how long a member of `by` has to pick; add `by: <role>`, or remove `timeout`",
      );
    if (!choice.by && choice.options.every((o) => !o.when))
      ctx.warn(
        at,
        `nothing chooses here: no option has \`when\` and no \`by\` names who picks, so \`${choice.default}\` is always taken; add a condition or \`by: <role>\`, or write its steps without a choice`,
      );
  }
};
