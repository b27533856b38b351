/** Every `{{ … }}` must parse and refer to something that exists where it is used. */
import type { Path } from "../diagnostics.js";
import { checkTemplate, isTemplate, type TemplateNames, type TemplateScope } from "../template.js";
import type { RuleContext, RunbookRule } from "./context.js";

export const templatesValid: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const secrets = new Set(Object.keys(rb.secrets));
  const vars = new Set<string>();
  for (const env of Object.values(rb.environments)) {
    for (const k of Object.keys(env.secrets)) secrets.add(k);
    for (const k of Object.keys(env.vars)) vars.add(k);
  }
  const allCaptures = new Set<string>();
  for (const probe of [...Object.values(rb.checks), ...rb.smoke]) {
    if ("capture" in probe) for (const k of Object.keys(probe.capture)) allCaptures.add(k);
  }
  const base: TemplateNames = {
    secrets,
    vars,
    captures: allCaptures,
    roles: new Set(Object.keys(rb.roles)),
    signals: new Set(Object.keys(rb.monitor?.signals ?? {})),
    checks: new Set(Object.keys(rb.checks)),
  };
  visitStrings(ctx.raw, [], (text, path) => {
    if (!isTemplate(text)) return;
    const names = { ...base, captures: capturesBefore(ctx, path, allCaptures) };
    for (const problem of checkTemplate(text, scopeOf(path), names)) ctx.error(path, problem.message);
  });
};

/** Smoke tests see what earlier smoke tests captured (and their own, in poll/download); checks may use any. */
function capturesBefore(ctx: RuleContext, path: Path, all: Set<string>): Set<string> {
  if (path[0] === "checks") return all;
  if (path[0] !== "smoke" || typeof path[1] !== "number") return new Set();
  const before = new Set<string>();
  const own = ctx.runbook.smoke[path[1]];
  if (own && "capture" in own && (path[2] === "poll" || path[2] === "download")) {
    for (const k of Object.keys(own.capture)) before.add(k);
  }
  for (const item of ctx.runbook.smoke.slice(0, path[1])) {
    if ("capture" in item) for (const k of Object.keys(item.capture)) before.add(k);
    if ("check" in item) {
      const check = ctx.runbook.checks[item.check];
      if (check && "capture" in check) for (const k of Object.keys(check.capture)) before.add(k);
    }
  }
  return before;
}

const COMMAND_SECTIONS = new Set(["gates", "backup", "migrations", "deploy"]);
const PROBE_SECTIONS = new Set(["checks", "smoke", "integrity", "environments"]);

function scopeOf(path: Path): TemplateScope {
  const [section, , third] = path;
  if (section === "notify") return "message";
  if (section === "monitor") return path[1] === "signals" ? "probe" : "message";
  if (typeof section === "string" && COMMAND_SECTIONS.has(section)) return "command";
  if (typeof section === "string" && PROBE_SECTIONS.has(section)) return "probe";
  const last = path[path.length - 1];
  if ((section === "preflight" || (section === "rollback" && third !== undefined)) && last === "run")
    return "command";
  return "message";
}

function visitStrings(
  value: unknown,
  path: Array<string | number>,
  visit: (text: string, path: Path) => void,
): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => visitStrings(v, [...path, i], visit));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) visitStrings(v, [...path, k], visit);
  }
}
