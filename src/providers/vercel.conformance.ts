/**
 * The vercel provider in the conformance suite: the stand-in of Vercel's REST API
 * (test/helpers/vercel-api.ts) in this process, one project per service (the state folder's
 * name) in the team `acme`, deployments built from git. The variants are repositories the
 * stand-in knows: one that builds in 150 ms (normal), one whose build never ends (hang), one
 * whose build fails (unhealthy), and one it does not know, so the deployment is refused
 * before anything is created (refused). The spec is plain JSON and the stand-in answers
 * over HTTP, so a provider made from `spec` and `env` in a child process reaches it too.
 */
import { basename } from "node:path";
import { startVercelApi } from "../../test/helpers/vercel-api.js";
import type { ProviderCase } from "./conformance.js";

const TOKEN = "vercel-test-s3cr3t-token";
const TEAM = { id: "team_acme0000000000000001", slug: "acme" };

export const conformance: ProviderCase = {
  provider: "vercel",
  async setup(cleanup) {
    const api = await startVercelApi(
      {
        token: TOKEN,
        teams: [TEAM],
        buildMs: 150,
        repos: {
          "acme/shop": { outcome: "ready" },
          "acme/shop-hang": { outcome: "hang" },
          "acme/shop-broken": { outcome: "error" },
        },
      },
      cleanup,
    );
    const project = (stateDir: string) => basename(stateDir);
    const alias = (stateDir: string) => `${project(stateDir)}.example.com`.toLowerCase();
    return {
      async spec(variant, stateDir) {
        return {
          provider: "vercel",
          api: api.url,
          project: project(stateDir),
          scope: TEAM.slug,
          alias: alias(stateDir),
          token: "env:VERCEL_TOKEN",
          source: "git",
          git: {
            repo: {
              normal: "acme/shop",
              hang: "acme/shop-hang",
              unhealthy: "acme/shop-broken",
              refused: "acme/no-such-repo",
            }[variant],
            ref: "v{{ release.version }}",
          },
          timeout: variant === "normal" ? "5s" : "1s",
        };
      },
      env: () => ({ VERCEL_TOKEN: TOKEN }),
      expect: {
        hang: /^2\.0\.0: deployment dpl_\w+ did not become ready within 1s \(still BUILDING\); cancelled it$/,
        unhealthy:
          /^2\.0\.0: deployment dpl_\w+ failed \(BUILD_FAILED: Command "npm run build" exited with 1\)$/,
        // Vercel refuses the git source: no deployment is created, the alias is not touched.
        refused: {
          message:
            /^could not create the deployment of 2\.0\.0: Vercel answered 400 for POST \/v13\/deployments: incorrect_git_source_info: /,
          started: false,
          output: 'repository "acme/no-such-repo" does not exist',
        },
      },
      async serving(stateDir) {
        const d = api.aliased(alias(stateDir), TEAM.id);
        return d && api.stateOf(d) === "READY" ? d.meta.gantryVersion : undefined;
      },
      operations: async (stateDir) => api.operations(project(stateDir)),
      delay(ms) {
        api.delay(ms);
      },
    };
  },
};
