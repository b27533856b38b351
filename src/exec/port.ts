/**
 * A loopback port nobody listens on right now, for the embedded Postgres and the test servers.
 *
 * The port comes from below the kernel's ephemeral range (32768 and up on Linux), so an
 * outgoing connection cannot take it before its server binds it, and it is reserved for a
 * minute with a file under the system's temporary folder, so two processes that look for a
 * port at the same moment (two test files, two gantry commands) never get the same one.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const LOW = 20000;
const HIGH = 32767;
const RESERVED_MS = 60_000;
const ATTEMPTS = 200;

const reservations = path.join(os.tmpdir(), "gantry-ports");

export async function freePort(): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (!reserve(port)) continue;
    if (await bindable(port)) return port;
  }
  return kernelPort();
}

/** Claims `port` for a minute; false when another process claimed it less than a minute ago. */
function reserve(port: number): boolean {
  const file = path.join(reservations, String(port));
  try {
    fs.mkdirSync(reservations, { recursive: true });
    try {
      if (Date.now() - fs.statSync(file).mtimeMs < RESERVED_MS) return false;
      fs.rmSync(file, { force: true });
    } catch {
      // not reserved
    }
    fs.writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (e) {
    // Lost the race for this port to another process, or the folder cannot be written:
    // in the second case, go on without reservations.
    return (e as NodeJS.ErrnoException).code !== "EEXIST";
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The kernel's choice, when every port of the range was taken. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
