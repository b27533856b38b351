/** The stand-in's fixed ports on 127.0.0.1 (block 18400-18499), as the seed's README lists them. */
export const PORTS = {
  app: 18400, // the released app: what the `standin` environment's url points at
  github: 18401, // GitHub API: Actions workflows (deploy.yml, rollback.yml), environment secrets and variables
  posthog: 18402, // PostHog, the app's project (events captured by the app, queried by Gantry)
  posthogStaging: 18403, // PostHog, the staging project (a day of staging telemetry)
  ai: 18404, // the AI providers' APIs (openai, anthropic, together)
  supabase: 18405, // Supabase Management API: the project's database backups
  redis: 18406, // Redis (Debian's redis-server), with a password
  postgres: 18407, // PostgreSQL (Debian's), the Supabase database
  slack: 18408, // Slack incoming webhooks (#releases, #incidents)
  preview: 18411, // the app started from the working tree by `npm run test` and `npm run e2e`
};
