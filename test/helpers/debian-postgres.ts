/**
 * Debian's PostgreSQL server, for the tests that need pg_dump and pg_restore: those tools
 * refuse a server newer than themselves, and Debian's packages bring a matching set
 * (installed by scripts/test-servers.sh). Its own temporary folder, a free loopback port,
 * trust authentication on 127.0.0.1 only; run as `postgres` when the tests run as root.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/exec/port.js";

export interface DebianPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** The folder with pg_dump, pg_restore, psql of the same version. */
  bin: string;
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<version>/bin with a server in it. */
export function debianPostgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error("Debian's PostgreSQL server is not installed: run sh scripts/test-servers.sh");
  }
  return path.join(root, versions[0]!, "bin");
}

export interface DebianPostgresOptions {
  /** A fixed port (a stand-in's); default a free one. */
  port?: number;
  /** The folder to keep the server in (created, removed at stop); default a temporary one. */
  dir?: string;
}

export async function startDebianPostgres(options: DebianPostgresOptions = {}): Promise<DebianPostgres> {
  const bin = debianPostgresBin();
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "gantry-debian-pg-"));
  fs.mkdirSync(dir, { recursive: true });
  const data = path.join(dir, "data");
  const root = process.getuid?.() === 0;
  if (root) execFileSync("chown", ["postgres", dir]);
  const as = (cmd: string, args: string[]) =>
    root
      ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" })
      : execFileSync(cmd, args, { stdio: "pipe" });
  as(path.join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = options.port ?? (await freePort());
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  as(path.join(bin, "pg_ctl"), ["-D", data, "-o", serverOptions, "-l", path.join(dir, "log"), "-w", "start"]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    bin,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        as(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
