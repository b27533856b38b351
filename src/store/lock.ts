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
      const owner = holder(file);
      if (owner === "gone") continue;
      // Taken over only when its owner is dead; a file without a pid yet is being written now.
      if (owner !== "writing" && !alive(owner)) {
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

/**
 * The pid in a lock file; "writing" while its creator has not written it yet (for a few
 * seconds at most: an empty file older than that was left by a process that died in between),
 * "gone" when the file was removed meanwhile.
 */
function holder(file: string): number | "writing" | "gone" {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    if (text !== "") return Number(text);
    return Date.now() - fs.statSync(file).mtimeMs < 5000 ? "writing" : 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw e;
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
