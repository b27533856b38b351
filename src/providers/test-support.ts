/** Helpers shared by the provider tests: temp folders, free ports, the quickstart service, plain options. */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProviderState } from "./state.js";
import type { DeployRequest, ProviderOptions } from "./types.js";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gantry-${prefix}-`));
}

export { freePort } from "../exec/port.js";

/** examples/quickstart/service.mjs, found from this file upwards (works from src/ and dist/src/). */
export const SERVICE_PATH = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "examples", "quickstart", "service.mjs");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("examples/quickstart/service.mjs not found above the tests");
    dir = parent;
  }
})();

/** Options as the engine gives them, with a string-replace render and a redact that hides "s3cr3t". */
export function testOptions(stateDir: string, extra: Partial<ProviderOptions> = {}): ProviderOptions {
  return {
    stateDir,
    cwd: stateDir,
    render: (template, values) =>
      template
        .replaceAll("{{ release.version }}", values.version)
        .replaceAll("{{ release.previousVersion }}", values.previousVersion ?? ""),
    redact: (line) => line.replaceAll("s3cr3t", "[redacted]"),
    ...extra,
  };
}

export function request(version: string, key: string, timeoutMs = 5000): DeployRequest {
  return { version, key, timeoutMs };
}

export function readState(stateDir: string): ProviderState {
  return JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as ProviderState;
}

/** One GET to 127.0.0.1: status and body, or the error code (e.g. ECONNREFUSED). */
export function get(port: number, path: string): Promise<{ status?: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.setTimeout(2000, () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ body: "", error: e.code ?? e.message }));
  });
}
