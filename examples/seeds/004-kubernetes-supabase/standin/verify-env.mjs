/**
 * `./scripts/verify-env.sh <environment>` (Pre-Flight 5, "Validate secrets and runtime
 * config"): every variable the runbook's environment needs is set, and each one works, checked
 * against the services it names: the database and its replica answer (the replica read-only),
 * the kubeconfig's cluster has the namespace valuecanvas, the GitHub and Supabase tokens are
 * accepted, the Grafana token reads the Prometheus data source, and the Slack webhook is an
 * incoming-webhook URL. It names what fails, never a value. Exit 0 all good, 1 otherwise.
 */
import fs from "node:fs";
import pg from "pg";
import YAML from "yaml";

const envName = process.argv[2];
if (!envName) {
  process.stderr.write("usage: verify-env.sh <environment>\n");
  process.exit(2);
}
const need = [
  "GITHUB_TOKEN",
  "SUPABASE_ACCESS_TOKEN",
  "GRAFANA_PROMETHEUS_TOKEN",
  "DATABASE_URL",
  "DATABASE_REPLICA_URL",
  "SLACK_RELEASES_WEBHOOK",
];
const e = process.env;
const github = (e.GITHUB_API_URL ?? "https://api.github.com").replace(/\/$/, "");
const supabase = (e.SUPABASE_API_URL ?? "https://api.supabase.com").replace(/\/$/, "");
const runbook = YAML.parse(fs.readFileSync(new URL("../runbook.yaml", import.meta.url), "utf8"), {
  merge: true,
});
const environment = runbook.environments?.[envName];
let failed = 0;
const report = (ok, what) => {
  if (!ok) failed++;
  process.stdout.write(`${ok ? "ok  " : "FAIL"} ${what}\n`);
};
const attempt = async (what, fn) => {
  try {
    report(await fn(), what);
  } catch (err) {
    report(false, `${what}: ${err.code ?? err.name}`);
  }
};
const status = async (url, headers) =>
  (await fetch(url, { headers, signal: AbortSignal.timeout(5000) })).status;

report(Boolean(environment), `environment ${envName} is in the runbook`);
for (const name of need) report(Boolean(e[name]), `${name} is set`);
report(Boolean(e.KUBECONFIG && fs.existsSync(e.KUBECONFIG)), "KUBECONFIG names a file");
if (failed) process.exit(1);

await attempt("DATABASE_URL: the database answers and takes writes", async () => {
  const c = new pg.Client({ connectionString: e.DATABASE_URL });
  await c.connect();
  const r = await c.query("select current_setting('transaction_read_only') as ro");
  await c.end();
  return r.rows[0].ro === "off";
});
await attempt("DATABASE_REPLICA_URL: the replica answers, read-only", async () => {
  const c = new pg.Client({ connectionString: e.DATABASE_REPLICA_URL });
  await c.connect();
  const r = await c.query("select current_setting('transaction_read_only') as ro");
  await c.end();
  return r.rows[0].ro === "on";
});
await attempt("KUBECONFIG: the cluster has the namespace valuecanvas", async () => {
  const config = YAML.parse(fs.readFileSync(e.KUBECONFIG, "utf8"));
  const context = config.contexts.find((c) => c.name === config["current-context"]).context;
  const cluster = config.clusters.find((c) => c.name === context.cluster).cluster;
  const user = config.users.find((u) => u.name === context.user).user;
  return (
    (await status(`${cluster.server}/api/v1/namespaces/valuecanvas`, {
      authorization: `Bearer ${user.token}`,
    })) === 200
  );
});
await attempt(
  "GITHUB_TOKEN: GitHub accepts it",
  async () => (await status(`${github}/user`, { authorization: `Bearer ${e.GITHUB_TOKEN}` })) === 200,
);
const project = environment?.vars?.supabase_project_ref;
await attempt(
  `SUPABASE_ACCESS_TOKEN: Supabase project ${project} is reachable with it`,
  async () =>
    (await status(`${supabase}/v1/projects/${project}`, {
      authorization: `Bearer ${e.SUPABASE_ACCESS_TOKEN}`,
    })) === 200,
);
const prometheus = environment?.metrics?.prometheus?.url;
await attempt(
  "GRAFANA_PROMETHEUS_TOKEN: the Prometheus data source answers with it",
  async () =>
    (await status(`${prometheus}/api/v1/status/buildinfo`, {
      authorization: `Bearer ${e.GRAFANA_PROMETHEUS_TOKEN}`,
    })) === 200,
);
report(
  /^https?:\/\/[^/]+\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+$/.test(e.SLACK_RELEASES_WEBHOOK),
  "SLACK_RELEASES_WEBHOOK is a Slack incoming-webhook URL",
);
process.exit(failed ? 1 : 0);
