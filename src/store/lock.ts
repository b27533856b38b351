/**
 * A short-lived lock between gantry processes on one machine: a file created exclusively,
 * holding the owner's pid. A lock whose owner is gone (killed) is taken over.
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const WAIT_MS = 60_000;

export async function withFileLock<T>(file: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(fs.readFileSync(file, "utf8").trim() || "0");
      if (!alive(owner)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`${file} has been held by gantry pid ${owner} for over ${WAIT_MS / 1000}s`);
      }
      await sleep(50);
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Whether a process with this pid exists (EPERM: it exists, owned by another user). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
