/**
 * The fly provider in the conformance suite: a local stand-in of the Fly Machines API
 * (test/helpers/fly-api.ts), in the suite's process, with one app of ten Machines per service
 * (named after its state folder, so that a child process given the same spec reaches the same
 * app). Ten Machines make the canary's 10%, 20% and 50% exact. The variants differ by image:
 * one that never finishes starting (hang), one whose health checks turn critical (unhealthy),
 * one the registry does not have, which the API refuses to update to (refused: nothing changed).
 */
import { createHash } from "node:crypto";
import { type FlyMachineView, startFlyApi } from "../../test/helpers/fly-api.js";
import type { ProviderCase } from "./conformance.js";
import { canaryCount } from "./fly.js";

/** The token of the stand-in; "s3cr3t" is what the suite's redact hides. */
export const FLY_TOKEN = "fm2_conformance_s3cr3t_token";
export const MACHINES = 10;

/** The app on the stand-in for a service's state folder. */
export function flyAppOf(stateDir: string): string {
  return `gantry-${createHash("sha256").update(stateDir).digest("hex").slice(0, 12)}`;
}

/** A Machine the proxy sends requests to: started, every check passing. */
function serves(m: FlyMachineView): boolean {
  return m.state === "started" && m.checks.every((c) => c.status === "passing");
}

function tagOf(image: string): string {
  return image.slice(image.lastIndexOf(":") + 1);
}

export const conformance: ProviderCase = {
  provider: "fly",
  async setup(cleanup) {
    const api = await startFlyApi({ token: FLY_TOKEN, stepMs: 10, checkMs: 0 }, cleanup);
    api.image("registry.fly.io/gantry-hang", "hang");
    api.image("registry.fly.io/gantry-unhealthy", "unhealthy");
    api.image("registry.fly.io/gantry-unpushed", "missing");
    const serving = (stateDir: string) => (api.machines(flyAppOf(stateDir)) ?? []).filter(serves);
    return {
      async spec(variant, stateDir) {
        const app = flyAppOf(stateDir);
        api.createApp(app, { machines: MACHINES });
        const repository = { normal: undefined, hang: "hang", unhealthy: "unhealthy", refused: "unpushed" }[
          variant
        ];
        return {
          provider: "fly",
          app,
          api: api.url,
          token: "env:FLY_API_TOKEN",
          // normal: the default image, registry.fly.io/<app>:{{ release.version }}.
          ...(repository ? { image: `registry.fly.io/gantry-${repository}:{{ release.version }}` } : {}),
          timeout: variant === "normal" ? "5s" : "1s",
        };
      },
      env: () => ({ FLY_API_TOKEN: FLY_TOKEN }),
      expect: {
        hang: /^2\.0\.0: machine [0-9a-f]+ did not start within 1s \(still starting\); the rollout stopped there, 1 of 10 machines on registry\.fly\.io\/gantry-hang:2\.0\.0$/,
        unhealthy:
          /^2\.0\.0: machine [0-9a-f]+ started, but its checks did not pass within 1s \(http critical: "GET \/health: 500 Internal Server Error: database unreachable"\); the rollout stopped there, 1 of 10 machines on registry\.fly\.io\/gantry-unhealthy:2\.0\.0$/,
        // The API refuses the first Machine's update: nothing changed.
        refused: {
          message:
            /^2\.0\.0: the Fly API refused to update machine [0-9a-f]+: POST \/v1\/apps\/gantry-[0-9a-f]+\/machines\/[0-9a-f]+: 422 failed to update VM [0-9a-f]+: failed to resolve image registry\.fly\.io\/gantry-unpushed:2\.0\.0: manifest unknown$/,
          started: false,
          output: "registry.fly.io/gantry-unpushed:2.0.0",
        },
      },
      async serving(stateDir) {
        const tally = new Map<string, number>();
        for (const m of serving(stateDir))
          tally.set(tagOf(m.config.image), (tally.get(tagOf(m.config.image)) ?? 0) + 1);
        return [...tally].sort((a, b) => b[1] - a[1])[0]?.[0];
      },
      operations: async (stateDir) => api.operations(flyAppOf(stateDir)),
      delay: (ms) => api.delayNext(ms),
      async share(stateDir, version) {
        const up = serving(stateDir);
        return up.length === 0 ? 0 : up.filter((m) => tagOf(m.config.image) === version).length / up.length;
      },
      rounds: (weight) => canaryCount(weight, MACHINES) / MACHINES,
    };
  },
};
