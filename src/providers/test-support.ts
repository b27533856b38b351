/**
 * Helpers shared by the provider tests: temp folders, free ports, the quickstart service, a
 * real Postgres for the provider state (one embedded server per test file), plain options.
 */
import { existsSync, mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startPostgres } from "../../test/helpers/postgres-server.js";
import { endPool, migrate } from "../store/database.js";
import { PostgresProviderState } from "../store/provider-state.js";
import type { DeployEntry, DeployState } from "../store/provider-state-store.js";
import { ProcessFile, type ProcessRecord } from "./process-record.js";
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

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** An embedded Postgres with Gantry's schema, in a temporary folder; start one per test file. */
export async function testDatabase(): Promise<TestDatabase> {
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on("error", () => undefined);
  try {
    await migrate(pool);
  } catch (e) {
    await endPool(pool, 2000);
    await server.stop();
    throw e;
  }
  return {
    url: server.url,
    pool,
    close: async () => {
      await endPool(pool, 2000);
      await server.stop();
    },
  };
}

/** The provider state of one test folder: the folder's name as the service, environment "test". */
export function testState(pool: pg.Pool, localDir: string): PostgresProviderState {
  return new PostgresProviderState(pool, basename(localDir), "test", {
    legacyFile: join(localDir, "state.json"),
  });
}

/** Options as the engine gives them, with a string-replace render and a redact that hides "s3cr3t". */
export function testOptions(
  pool: pg.Pool,
  localDir: string,
  extra: Partial<ProviderOptions> = {},
): ProviderOptions {
  return {
    state: testState(pool, localDir),
    localDir,
    cwd: localDir,
    render: (template, values) =>
      template
        .replaceAll("{{ release.version }}", values.version)
        .replaceAll("{{ release.previousVersion }}", values.previousVersion ?? "")
        .replaceAll(
          "{{ canary.weight }}",
          values.weight === undefined ? "" : String(Math.round(values.weight * 1000) / 10),
        ),
    text: (template, values) =>
      template
        .replaceAll("{{ release.version }}", values.version)
        .replaceAll("{{ release.previousVersion }}", values.previousVersion ?? ""),
    field: (value, where) => {
      if (!value.startsWith("env:")) return value;
      const found = extra.env?.[value.slice(4)] ?? process.env[value.slice(4)];
      if (found === undefined) throw new Error(`${where}: ${value} is not set`);
      return found;
    },
    redact: (line) => line.replaceAll("s3cr3t", "[redacted]"),
    ...extra,
  };
}

export function request(version: string, key: string, timeoutMs = 5000): DeployRequest {
  return { version, key, timeoutMs };
}

/** Everything recorded for a test folder: the Postgres state, every entry, and the local process record. */
export async function readState(
  pool: pg.Pool,
  localDir: string,
): Promise<DeployState & { deploys: DeployEntry[]; process?: ProcessRecord }> {
  const state = testState(pool, localDir);
  const process = new ProcessFile(localDir).read();
  return { ...(await state.read()), deploys: await state.entries(), ...(process ? { process } : {}) };
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
