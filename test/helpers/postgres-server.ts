/**
 * An embedded Postgres for probe tests: its own temporary data folder, a free loopback port
 * and a known password, started through the store's openEmbedded (which runs it as the
 * `postgres` user when the tests run as root). A cold start takes a few seconds: start one
 * per test file.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openEmbedded } from "../../src/store/embedded.js";

export const POSTGRES_USER = "gantry";
export const POSTGRES_PASSWORD = "probe-test-password";
export const POSTGRES_DATABASE = "gantry";

export interface PostgresServer {
  /** postgres://gantry:probe-test-password@127.0.0.1:<port>/gantry */
  url: string;
  port: number;
  /** The same server with another password in the URL (which it refuses). */
  urlWithPassword(password: string): string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-probe-pg-"));
  // As root the server runs as `postgres`, which must be able to enter the folder.
  fs.chmodSync(dir, 0o755);
  // openEmbedded creates the server with the credentials it finds here.
  fs.writeFileSync(
    path.join(dir, "credentials.json"),
    JSON.stringify({ user: POSTGRES_USER, password: POSTGRES_PASSWORD }),
    { mode: 0o600 },
  );
  let server: Awaited<ReturnType<typeof openEmbedded>>;
  try {
    server = await openEmbedded(dir);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const urlWithPassword = (password: string) =>
    `postgres://${POSTGRES_USER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${POSTGRES_DATABASE}`;
  let stopped = false;
  return {
    url: urlWithPassword(POSTGRES_PASSWORD),
    port: server.port,
    urlWithPassword,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.release();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
