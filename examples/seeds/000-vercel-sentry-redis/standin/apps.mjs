/**
 * The app processes behind the Vercel stand-in's deployments: one `node app/server.mjs` per
 * version, started the first time something asks for that version (as a deployment is cold
 * until its first request), on the fixed port the deployment was given, its output in
 * DIR/apps/<version>.log. stopAll() ends every one it started.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const SERVER = new URL("./app/server.mjs", import.meta.url).pathname;

export function appProcesses({ dir, env }) {
  const running = new Map(); // version → { child, ready: Promise<void> }
  fs.mkdirSync(path.join(dir, "apps"), { recursive: true });

  function start(version, port) {
    const log = fs.openSync(path.join(dir, "apps", `${version}.log`), "a");
    const child = spawn(process.execPath, [SERVER], {
      env: { ...env, VERSION: version, PORT: String(port) },
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const ready = (async () => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null)
          throw new Error(`app ${version} exited (${child.exitCode}); see apps/${version}.log`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/health/live`, {
            signal: AbortSignal.timeout(500),
          });
          await res.arrayBuffer();
          if (res.ok) return;
        } catch {
          // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`app ${version} did not answer on 127.0.0.1:${port} within 15s`);
    })();
    const entry = { child, ready };
    running.set(version, entry);
    // A version that failed to start is tried again on its next request.
    ready.catch(() => {
      if (running.get(version) === entry) running.delete(version);
      child.kill("SIGKILL");
    });
    child.on("exit", () => {
      if (running.get(version) === entry) running.delete(version);
    });
    return entry;
  }

  return {
    /** Resolves once the app of `version` answers on `port`. */
    async ensure(version, port) {
      await (running.get(version) ?? start(version, port)).ready;
    },
    async stopAll() {
      await Promise.all(
        [...running.values()].map(
          ({ child }) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
              child.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}
