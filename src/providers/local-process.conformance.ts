/**
 * The local-process provider in the conformance suite: examples/quickstart/service.mjs started
 * with node on a free port per service; a process that accepts connections and never answers
 * (hang) and one that listens nowhere (unhealthy). The canary's share is read from the
 * versions' own answers, through the weighted proxy on the service's port.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MISSING } from "./command.conformance.js";
import type { ProviderCase } from "./conformance.js";
import { freePort, get, SERVICE_PATH, tempDir } from "./test-support.js";

export const conformance: ProviderCase = {
  provider: "local-process",
  async setup() {
    const dir = tempDir("local-scripts");
    writeFileSync(
      join(dir, "hang.mjs"),
      'import net from "node:net";\nnet.createServer(() => {}).listen(Number(process.env.PORT), "127.0.0.1");\n',
    );
    writeFileSync(join(dir, "idle.mjs"), "setInterval(() => {}, 1000);\n");
    const ports = new Map<string, number>();
    const portOf = async (stateDir: string) => {
      const port = ports.get(stateDir) ?? (await freePort());
      ports.set(stateDir, port);
      return port;
    };
    return {
      async spec(variant, stateDir) {
        return {
          provider: "local-process",
          start: {
            normal: `node ${SERVICE_PATH}`,
            hang: `node ${join(dir, "hang.mjs")}`,
            unhealthy: `node ${join(dir, "idle.mjs")}`,
            refused: MISSING,
          }[variant],
          port: await portOf(stateDir),
          timeout: variant === "normal" ? "5s" : "1s",
        };
      },
      env: () => ({ QUICKSTART_TRAFFIC: "0" }),
      expect: {
        hang: /^2\.0\.0 did not become healthy within 1s \(last: no answer within .+\); see .+2\.0\.0\.log$/,
        unhealthy:
          /^2\.0\.0 did not become healthy within 1s \(last: connection refused\); see .+2\.0\.0\.log$/,
        // The version serving was stopped to make room, so the deploy did change something.
        refused: { message: /not found|exited/, started: true },
      },
      async serving(stateDir) {
        return versionOf(await get(await portOf(stateDir), "/health"));
      },
      async share(stateDir, version) {
        const port = await portOf(stateDir);
        let hits = 0;
        const n = 100;
        for (let i = 0; i < n; i++) if (versionOf(await get(port, "/health")) === version) hits++;
        return hits / n;
      },
    };
  },
};

function versionOf(answer: { status?: number; body: string }): string | undefined {
  if (answer.status !== 200) return undefined;
  try {
    return (JSON.parse(answer.body) as { version?: string }).version;
  } catch {
    return undefined;
  }
}
