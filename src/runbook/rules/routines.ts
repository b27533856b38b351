/** Routines name what exists (environment, checks, channels, template); cron and time zone parse. */
import { parseCron } from "../cron.js";
import type { Path } from "../diagnostics.js";
import { isTimeZone } from "../time-zone.js";
import { type RunbookRule, unknownName } from "./context.js";

export const routinesValid: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const envs = Object.keys(rb.environments);
  // What `gantry check` runs by name: the runbook's checks, and parity and drift when declared.
  const checks = [
    ...Object.keys(rb.checks),
    ...(rb.parity ? ["parity"] : []),
    ...(rb.drift ? ["drift"] : []),
  ];
  const channels = Object.keys(rb.notify?.channels ?? {});
  const templates = Object.keys(rb.notify?.templates ?? {});
  const known = { checks: new Set(checks), channels: new Set(channels), templates: new Set(templates) };
  const seen = new Map<string, number>();
  // Runbooks repeat schedules; a hostile file has thousands of routines: parse each once.
  const crons = new Map<string, ReturnType<typeof parseCron>>();
  rb.routines.forEach((r, i) => {
    const at = (...rest: Path): Path => ["routines", i, ...rest];
    const first = seen.get(r.name);
    if (first !== undefined)
      ctx.error(
        at("name"),
        `duplicate routine name \`${r.name}\` (first used at routines[${first}]); names must be unique`,
      );
    else seen.set(r.name, i);
    if (!Object.hasOwn(rb.environments, r.env))
      ctx.error(at("env"), () => unknownName("environment", r.env, envs, "environments"));
    r.checks.forEach((c, j) => {
      if (!known.checks.has(c))
        ctx.error(at("checks", j), () =>
          unknownName("check", c, checks, "checks (or declare parity or drift)"),
        );
      else if (c === "parity" && rb.parity?.with === r.env)
        ctx.error(at("checks", j), `parity compares \`${r.env}\` with itself; check another environment`);
    });
    const timeZoneOk = isTimeZone(r.timezone);
    if (!timeZoneOk)
      ctx.error(
        at("timezone"),
        `unknown time zone \`${r.timezone}\`; use an IANA name such as America/New_York or UTC`,
      );
    const zone = timeZoneOk ? r.timezone : "UTC";
    const key = `${zone} ${r.cron}`;
    if (!crons.has(key) && ctx.full) ctx.stopped();
    else {
      const cron = crons.get(key) ?? parseCron(r.cron, zone);
      crons.set(key, cron);
      if (!cron.ok) ctx.error(at("cron"), `bad cron expression \`${r.cron}\`: ${cron.error}`);
    }
    r.alert?.to.forEach((c, j) => {
      if (!known.channels.has(c))
        ctx.error(at("alert", "to", j), () => unknownName("channel", c, channels, "notify.channels"));
    });
    const template = r.alert?.template;
    if (template !== undefined && !known.templates.has(template))
      ctx.error(at("alert", "template"), () =>
        unknownName("template", template, templates, "notify.templates"),
      );
  });
};
