/** Every name used somewhere must be declared somewhere: checks, roles, environments, signals, templates, channels. */

import { subjectsOf } from "../condition.js";
import type { Path } from "../diagnostics.js";
import { rollbackActions, rollbackChoices } from "../rollback-steps.js";
import { REPEATING } from "../schema/notify.js";
import type { Probe } from "../schema/probes.js";
import { type RuleContext, type RunbookRule, unknownName } from "./context.js";

export const checkReferences: RunbookRule = (ctx) => {
  const { runbook: rb } = ctx;
  const checks = Object.keys(rb.checks);
  const checksSet = new Set(checks);
  const ref = (path: Path, name: string | undefined) => {
    if (name !== undefined && !checksSet.has(name))
      ctx.error(path, () => unknownName("check", name, checks, "checks"));
  };
  rb.preflight.forEach((item, i) => ref(["preflight", i, "check"], item.check));
  rb.smoke.forEach((item, i) => {
    if ("check" in item) ref(["smoke", i, "check"], item.check);
  });
  rb.decisions.forEach((d, i) => d.inputs.forEach((c, j) => ref(["decisions", i, "inputs", j], c)));
  rb.monitor?.checkpoints.forEach((c, i) =>
    c.checks.forEach((n, j) => ref(["monitor", "checkpoints", i, "checks", j], n)),
  );
  rb.deploy?.canary.forEach((c, i) =>
    c.checks.forEach((n, j) => ref(["deploy", "canary", i, "checks", j], n)),
  );
  rb.schedule.forEach((s, i) => s.checks.forEach((n, j) => ref(["schedule", i, "checks", j], n)));
  for (const { path, step } of rollbackActions(rb.rollback)) ref([...path, "check"], step.check);
  for (const [name, env] of Object.entries(rb.environments)) {
    env.validate.forEach((c, j) => ref(["environments", name, "validate", j], c));
  }
};

export const roleReferences: RunbookRule = (ctx) => {
  const { runbook: rb } = ctx;
  const roles = Object.keys(rb.roles);
  const rolesSet = new Set(roles);
  const ref = (path: Path, name: string | undefined) => {
    if (name !== undefined && !rolesSet.has(name))
      ctx.error(path, () => unknownName("role", name, roles, "roles"));
  };
  ref(["metadata", "owner"], rb.metadata.owner);
  rb.preflight.forEach((item, i) => ref(["preflight", i, "by"], item.by));
  rb.decisions.forEach((d, i) => {
    d.approvers.forEach((a, j) => ref(["decisions", i, "approvers", j, "role"], a.role));
    ref(["decisions", i, "page"], d.page);
    d.escalation.forEach((r, j) => ref(["decisions", i, "escalation", j], r));
  });
  for (const [name, env] of Object.entries(rb.environments))
    env.override?.roles.forEach((r, j) => ref(["environments", name, "override", "roles", j], r));
  rb.checklists.forEach((c, i) => {
    c.signoff.forEach((a, j) => ref(["checklists", i, "signoff", j, "role"], a.role));
    c.escalation.forEach((r, j) => ref(["checklists", i, "escalation", j], r));
  });
  for (const { path, step } of rollbackActions(rb.rollback)) ref([...path, "by"], step.by);
  for (const { path, choice } of rollbackChoices(rb.rollback)) ref([...path, "choose", "by"], choice.by);
  ref(["rollback", "approval", "role"], rb.rollback?.approval?.role);
  ref(["migrations", "rollback", "approval"], rb.migrations?.rollback.approval);
  rb.schedule.forEach((s, i) => ref(["schedule", i, "owner"], s.owner));
  for (const [severity, sla] of Object.entries(rb.slas ?? {}))
    sla?.escalation.forEach((r, j) => ref(["slas", severity, "escalation", j], r));
  for (const [name, env] of Object.entries(rb.environments)) {
    ref(["environments", name, "owner"], env.owner);
    env.escalation.forEach((r, j) => ref(["environments", name, "escalation", j], r));
  }
  for (const [name, r] of Object.entries(rb.roles)) ref(["roles", name, "backup"], r.backup);
  for (const [name, c] of Object.entries(rb.components)) {
    ref(["components", name, "owner"], c.owner);
    ref(["components", name, "backup"], c.backup);
    c.escalation.forEach((r, j) => ref(["components", name, "escalation", j], r));
  }
};

export const componentReferences: RunbookRule = (ctx) => {
  const names = Object.keys(ctx.runbook.components);
  ctx.runbook.monitor?.rules.forEach((r, i) => {
    if (r.component !== undefined && !names.includes(r.component))
      ctx.error(["monitor", "rules", i, "component"], () =>
        unknownName("component", r.component!, names, "components"),
      );
  });
};

export const environmentReferences: RunbookRule = (ctx) => {
  const envs = Object.keys(ctx.runbook.environments);
  const envsSet = new Set(envs);
  const only = (path: Path, names: string[] | undefined) =>
    names?.forEach((n, j) => {
      if (!envsSet.has(n))
        ctx.error([...path, "only", j], () => unknownName("environment", n, envs, "environments"));
    });
  ctx.runbook.preflight.forEach((item, i) => only(["preflight", i], item.only));
  ctx.runbook.decisions.forEach((item, i) => only(["decisions", i], item.only));
  ctx.runbook.checklists.forEach((item, i) => only(["checklists", i], item.only));
  ctx.runbook.smoke.forEach((item, i) => only(["smoke", i], "check" in item ? item.only : undefined));
  const ref = (path: Path, n: string) => {
    if (!envsSet.has(n)) ctx.error(path, () => unknownName("environment", n, envs, "environments"));
  };
  const { parity, drift } = ctx.runbook;
  if (parity) {
    ref(["parity", "with"], parity.with);
    parity.in.forEach((n, j) => {
      if (n === parity.with)
        ctx.error(["parity", "in", j], `parity compares \`${n}\` with itself; name another environment`);
      else ref(["parity", "in", j], n);
    });
  }
  drift?.in.forEach((n, j) => ref(["drift", "in", j], n));
  for (const [name, env] of Object.entries(ctx.runbook.environments)) {
    for (const [key, other] of [
      ["promoteFrom", env.promoteFrom],
      ["soak", env.soak?.in],
    ] as const) {
      if (other === undefined) continue;
      const path = key === "soak" ? ["environments", name, "soak", "in"] : ["environments", name, key];
      if (other === name)
        ctx.error(path, `environment \`${name}\` cannot require itself; name the environment before it`);
      else if (!envsSet.has(other))
        ctx.error(path, () => unknownName("environment", other, envs, "environments"));
    }
  }
};

/** Prometheus, Sentry and PostHog probes read from a metric source every environment must declare. */
export const metricSourceReferences: RunbookRule = (ctx) => {
  for (const { path, probe } of allProbes(ctx)) {
    if (!("source" in probe)) continue;
    const wanted = probe.type === "prometheus" ? ["prometheus", "http"] : [probe.type];
    // Probes × environments: past the bound, stop (a hostile file can have thousands of each).
    if (ctx.full) {
      ctx.stopped();
      return;
    }
    for (const [envName, env] of Object.entries(ctx.runbook.environments)) {
      const source = env.metrics[probe.source];
      if (!source) {
        const names = Object.keys(env.metrics);
        const msg = () =>
          unknownName("metric source", probe.source, names, `environments.${envName}.metrics`);
        ctx.error([...path, "source"], () => `${msg()} (in environment \`${envName}\`)`);
      } else if (!wanted.includes(source.type)) {
        ctx.error(
          [...path, "source"],
          `metric source \`${probe.source}\` of environment \`${envName}\` is of type ${source.type}; a ${probe.type} probe needs one of type ${wanted.join(" or ")}`,
        );
      }
    }
  }
};

/** Postgres and Redis probes without a url use the environment's; some environment must have one. */
export const connectionDefaults: RunbookRule = (ctx) => {
  const envs = Object.entries(ctx.runbook.environments);
  const probes = [...allProbes(ctx)];
  for (const [kind, key] of [
    ["postgres", "database"],
    ["redis", "redis"],
  ] as const) {
    const users = probes.filter((p) => p.probe.type === kind && !("url" in p.probe && p.probe.url));
    if (users.length === 0) continue;
    const missing = envs.filter(([, env]) => !env[key]).map(([name]) => name);
    if (missing.length === envs.length) {
      ctx.error(
        [...users[0]!.path, "type"],
        `a ${kind} check without \`url\` uses the environment's ${key}.url, but no environment declares \`${key}\``,
      );
    }
  }
  const noDatabase = envs.every(([, env]) => !env.database);
  ctx.runbook.integrity.forEach((item, i) => {
    if (!item.url && noDatabase) {
      ctx.error(
        ["integrity", i, "query"],
        "integrity checks use the environment's database.url, but no environment declares `database`",
      );
    }
  });
};

export const signalReferences: RunbookRule = (ctx) => {
  const monitor = ctx.runbook.monitor;
  if (!monitor) return;
  const signals = Object.keys(monitor.signals);
  const signalsSet = new Set(signals);
  monitor.rules.forEach((rule, i) => {
    for (const subject of subjectsOf(rule.when)) {
      if (!signalsSet.has(subject))
        ctx.error(["monitor", "rules", i, "when"], () =>
          unknownName("signal", subject, signals, "monitor.signals"),
        );
    }
    if (!monitor.tiers[rule.severity]) {
      ctx.error(
        ["monitor", "rules", i, "severity"],
        `no action for ${rule.severity}; add monitor.tiers.${rule.severity} (rollback, pause or note)`,
      );
    }
  });
};

export const notifyReferences: RunbookRule = (ctx) => {
  const notify = ctx.runbook.notify;
  const templates = Object.keys(notify?.templates ?? {});
  const templatesSet = new Set(templates);
  const channels = Object.keys(notify?.channels ?? {});
  const channelsSet = new Set(channels);
  notify?.on.forEach((sub, i) => {
    if (!templatesSet.has(sub.template)) {
      ctx.error(["notify", "on", i, "template"], () =>
        unknownName("template", sub.template, templates, "notify.templates"),
      );
    }
    sub.to.forEach((c, j) => {
      if (!channelsSet.has(c))
        ctx.error(["notify", "on", i, "to", j], () => unknownName("channel", c, channels, "notify.channels"));
    });
    if (sub.every && !REPEATING.includes(sub.event)) {
      ctx.error(["notify", "on", i, "every"], `\`every\` applies only to ${REPEATING.join(" and ")}`);
    }
    if (!sub.every && REPEATING.includes(sub.event)) {
      ctx.error(["notify", "on", i], `${sub.event} needs \`every\`: how often to send it, e.g. every: 15m`);
    }
  });
  for (const [name, c] of Object.entries(notify?.channels ?? {})) {
    if (c.type !== "slack") continue;
    const where = ["notify", "channels", name];
    if (c.webhook && c.token)
      ctx.error(
        where,
        "a slack channel has `webhook` (an incoming webhook) or `token` (the Web API), not both",
      );
    else if (!c.webhook && !c.token)
      ctx.error(
        where,
        "a slack channel needs `webhook: env:NAME` (an incoming webhook) or `token: env:NAME` and `channel` (the Web API, with threads)",
      );
    else if (c.token && !c.channel)
      ctx.error(
        [...where, "token"],
        "with `token`, say which `channel` to post in (its ID, C0123…, or #name)",
      );
  }
  const rollbackChannels = (notify?.on ?? []).filter((s) => s.event === "rollback.started").length;
  for (const { path, step: s } of rollbackActions(ctx.runbook.rollback)) {
    const name = s.notify;
    if (name !== undefined && !templatesSet.has(name)) {
      ctx.error([...path, "notify"], () => unknownName("template", name, templates, "notify.templates"));
    }
    if (s.to && name === undefined) ctx.error([...path, "to"], "`to` goes with `notify`");
    s.to?.forEach((c, j) => {
      if (!channelsSet.has(c))
        ctx.error([...path, "to", j], () => unknownName("channel", c, channels, "notify.channels"));
    });
    if (name !== undefined && !s.to && rollbackChannels === 0)
      ctx.error(
        [...path, "notify"],
        `this step would tell nobody: add \`to: [channel]\`, or subscribe a channel to rollback.started`,
      );
  }
};

/** Every probe in the runbook with its path. */
export function* allProbes(ctx: RuleContext): Generator<{ path: Path; probe: Probe }> {
  const rb = ctx.runbook;
  for (const [name, probe] of Object.entries(rb.checks)) yield { path: ["checks", name], probe };
  for (const [i, item] of rb.smoke.entries()) if ("type" in item) yield { path: ["smoke", i], probe: item };
  for (const [name, probe] of Object.entries(rb.monitor?.signals ?? {}))
    yield { path: ["monitor", "signals", name], probe };
}
