/**
 * A redis-server for probe tests: 127.0.0.1, a free port, a temporary --dir, no persistence
 * unless the extra arguments ask for it, in the foreground. Resolves once it answers PING.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/exec/port.js";

/** Debian's redis-server, or the first one on PATH (e.g. Homebrew's). */
export const REDIS_SERVER = [
  "/usr/bin/redis-server",
  ...(process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "redis-server")),
].find((file) => file.startsWith("/") && fs.existsSync(file));

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

export interface RedisOptions {
  /** A fixed port (a stand-in's): tried once; default a free one. */
  port?: number;
}

/** Starts redis-server with `extra` arguments, e.g. ["--maxmemory", "10mb"]. */
export async function startRedis(extra: string[] = [], options: RedisOptions = {}): Promise<RedisServer> {
  if (!REDIS_SERVER) {
    throw new Error(
      "/usr/bin/redis-server is missing: install redis-server: the test command installs it; run npm test",
    );
  }
  if (options.port !== undefined) return startOnce(REDIS_SERVER, extra, options.port);
  // A port free a moment ago may be taken by the time redis binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(REDIS_SERVER, extra, await freePort());
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/i.test(String(err))) throw err;
    }
  }
}

async function startOnce(binary: string, extra: string[], port: number): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-probe-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    ...extra,
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (err) => reject(new Error(`could not start ${binary}: ${err.message}`)));
    child.once("exit", (code, signal) =>
      reject(
        new Error(`redis-server exited (${signal ?? `code ${code}`}) before answering PING:\n${output}`),
      ),
    );
  });
  exited.catch(() => undefined);
  const stop = async () => {
    await kill(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForPing(port), exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/** Polls until the server answers PING (NOAUTH counts: it is up, and wants a password). */
async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS}ms`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
