/** One-line descriptions of probes, providers and rollback steps, for plans and logs. */
import type { Probe } from "../schema/probes.js";
import type { Runbook } from "../schema/runbook.js";

type Deploy = NonNullable<Runbook["deploy"]>;
type RollbackStep = NonNullable<Runbook["rollback"]>["steps"][number];

export function describeProbe(p: Probe): string {
  switch (p.type) {
    case "http": {
      const status = [p.expect.status].flat().join("|");
      const samples = p.samples > 1 ? ` ×${p.samples}` : "";
      const budget = p.budget?.p95 ? `, p95 < ${p.budget.p95.text}` : "";
      return `${p.method} ${p.url} → ${status}${samples}${budget}`;
    }
    case "tls":
      return `TLS ${p.host}:${p.port}, valid ≥ ${p.minDays} days`;
    case "dns":
      return `DNS ${p.record} ${p.name}${p.expect ? ` ∋ ${p.expect.join(", ")}` : ""}`;
    case "tcp":
      return `TCP ${p.host}:${p.port}`;
    case "postgres":
      return `postgres ${p.measure}${p.expect ? ` ${p.expect.text}` : ""}`;
    case "redis":
      return `redis ${p.measure}${p.expect ? ` ${p.expect.text}` : ""}`;
    case "prometheus":
      return `prometheus ${p.source}: ${p.query}${p.expect ? ` ${p.expect.text}` : ""}`;
    case "metrics": {
      const what = p.ratio
        ? `${p.ratio.numerator} / ${p.ratio.denominator}`
        : p.rate
          ? `rate(${p.rate})`
          : p.gauge;
      return `metrics ${p.url}: ${what}${p.expect ? ` ${p.expect.text}` : ""}`;
    }
    case "command":
      return `$ ${p.run}${p.expect ? ` ${p.expect.text}` : ""}`;
    case "sentry":
      return `sentry ${p.measure}${p.expect ? ` ${p.expect.text}` : ""}`;
    case "posthog":
      return `posthog ${p.ratio ? `${p.ratio.numerator} ratio` : (p.event ?? "events")} over ${p.window.text}${p.expect ? ` ${p.expect.text}` : ""}`;
  }
}

export function describeDeploy(d: Deploy): string {
  switch (d.provider) {
    case "command":
      return `$ ${d.deploy}`;
    case "local-process":
      return `start \`${d.start}\` on 127.0.0.1:${d.port}, wait for ${d.health}`;
    case "vercel":
      return `${d.source === "git" ? "build from git" : "take the prebuilt deployment"} of project ${d.project}, wait until READY, move alias ${d.alias}`;
    case "kubernetes":
      return `${d.apply ? `kubectl apply -k ${d.apply}; ` : ""}rollout status ${d.deployments.map((x) => `deploy/${x}`).join(", ")} in ${d.namespace}${d.image ? `; ${d.image} digest matches the tag` : ""}`;
    case "fly":
      return `update the Machines of ${d.app} to ${d.image ?? `registry.fly.io/${d.app}:<version>`}, one at a time, through the Machines API`;
  }
}

/** A rollback step's id (its name, else its position), title and detail. */
export function describeRollbackStep(
  s: RollbackStep,
  i: number,
): { id: string; title: string; detail?: string } {
  const within = s.within ? ` (within ${s.within.text})` : "";
  const [title, detail] = s.choose
    ? [
        `${s.name ? `${s.name}: ` : ""}choose ${s.choose.options.map((o) => o.name).join(" or ")}`,
        describeChoice(s.choose),
      ]
    : s.revert
      ? ["revert to last known good", undefined]
      : s.migrations
        ? [
            s.migrations === "down"
              ? "run down migrations of this release"
              : "restore the database from the backup",
            undefined,
          ]
        : s.run !== undefined
          ? [s.name ?? "run", s.run]
          : s.check !== undefined
            ? [`check ${s.check}`, undefined]
            : s.notify !== undefined
              ? [`notify ${s.notify}`, undefined]
              : s.confirm !== undefined
                ? [s.confirm, `confirmed by ${s.by}`]
                : [`wait ${s.wait?.text}`, undefined];
  return {
    id: `rollback:${s.name ?? i + 1}`,
    title: `${title}${within}`,
    ...(detail ? { detail } : {}),
  };
}

/** Who or what makes a choice, and what happens when nothing does. */
function describeChoice(c: NonNullable<RollbackStep["choose"]>): string {
  const conditions = c.options.some((o) => o.when) ? "the first option whose condition holds; else " : "";
  const person = c.by
    ? `a member of ${c.by} picks (gantry approve RUN --choice NAME)${c.timeout ? `; after ${c.timeout.text} without a pick: ${c.default}` : ""}`
    : `${c.default}`;
  return `${conditions}${person}`;
}

export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
