/**
 * The app started from the working tree on the preview port, for `npm run test` and
 * `npm run e2e` (as the team's Jest and Playwright configs start the dev server). It gets its
 * configuration from the environment the scripts run in (standin.json's env) and sends no
 * telemetry. A port already taken is an error naming it.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PORTS } from "../ports.mjs";

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "app", "server.mjs");

function portFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

export async function startPreview() {
  const port = PORTS.preview;
  if (!(await portFree(port))) throw new Error(`preview port 127.0.0.1:${port} is already in use`);
  const env = { ...process.env, PORT: String(port), VERSION: "preview" };
  delete env.POSTHOG_HOST;
  let output = "";
  const child = spawn(process.execPath, [APP], { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (c) => {
    output += c;
  });
  child.stderr.on("data", (c) => {
    output += c;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the preview exited (code ${child.exitCode}):\n${output.slice(-1500)}`);
    const up = await fetch(`${url}/api/version`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`the preview did not answer on ${url} within 10s:\n${output.slice(-1500)}`);
}
