/** Where the stand-in's pieces listen and what the Vercel project holds: one list for all. */
export const PORTS = {
  alias: 18100,
  vercel: 18101,
  sentry: 18102,
  prometheus: 18103,
  redis: 18104,
  postgres: 18105,
  slack: 18106,
};
/** The prebuilt deployments in the Vercel project, oldest first, each app on its own port. */
export const DEPLOYMENTS = [
  { version: "1.3.0", port: 18110 },
  { version: "1.4.0", port: 18111 },
  { version: "1.5.0", port: 18112 },
];
/** The production alias the vercel provider moves (the runbook's env.vars.vercel_alias). */
export const ALIAS = "dateplan.example.com";
export const TEAM = { id: "team_dateplan", slug: "dateplan" };
export const SENTRY = { org: "dateplan", project: { slug: "dateplan-web", id: 1 } };
