/**
 * The hosting provider: serves one version of the app at a time on the app port, as a child
 * process of the stand-in (so stopping the stand-in stops it). A deploy starts the new version
 * once the previous one has let go of the port, and waits until it answers /api/version.
 * Each version's output goes to DIR/apps/<version>.log.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "app", "server.mjs");
const READY_MS = 15_000;

export function createHosting({ dir, port, env }) {
  fs.mkdirSync(path.join(dir, "apps"), { recursive: true });
  let current; // { version, child }

  async function stopCurrent() {
    if (!current) return;
    const { child } = current;
    current = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async function answers(version) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/version`, { signal: AbortSignal.timeout(1000) });
      return res.ok && (await res.json()).version === version;
    } catch {
      return false;
    }
  }

  return {
    serving: () => current?.version,
    /** Serves `version`; resolves with log lines for the workflow, throws when it does not come up. */
    async deploy(version) {
      const lines = [`stopping ${current?.version ?? "nothing"}`];
      await stopCurrent();
      const log = fs.openSync(path.join(dir, "apps", `${version}.log`), "a");
      const child = spawn(process.execPath, [APP], {
        env: { ...env, PORT: String(port), VERSION: version },
        stdio: ["ignore", log, log],
      });
      fs.closeSync(log);
      current = { version, child };
      lines.push(`started ${version} (pid ${child.pid})`);
      const deadline = Date.now() + READY_MS;
      while (Date.now() < deadline) {
        if (child.exitCode !== null)
          throw new Error(`${version} exited with code ${child.exitCode}; see apps/${version}.log`);
        if (await answers(version)) return [...lines, `${version} is live on 127.0.0.1:${port}`];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${version} did not answer /api/version within ${READY_MS / 1000}s`);
    },
    stop: stopCurrent,
  };
}
