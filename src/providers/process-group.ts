/**
 * Process groups of services started by the local-process provider: is one still running,
 * is it still the one we started (pids get reused), and stopping it politely (SIGTERM to the
 * whole group, SIGKILL after a grace period). On Linux, /proc tells zombies (exited, not yet
 * reaped by their parent) from live processes; elsewhere `kill(-pgid, 0)` is the answer.
 */
import { readdirSync } from "node:fs";
import { procStartTime, procStat } from "../exec/processes.js";
import { sleep } from "./state.js";

export { procStartTime };

/** Live (not zombie) members of a process group, or undefined when /proc cannot say. */
function liveMembers(pgid: number): number | undefined {
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  let live = 0;
  for (const name of names) {
    const fields = procStat(Number(name));
    if (fields && Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") live++;
  }
  return live;
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return liveMembers(pgid) !== 0;
}

/** The group still runs and its leader, if still there, is the process we started. */
export function isOurGroup(pgid: number, procStart: string | undefined): boolean {
  if (!groupAlive(pgid)) return false;
  const now = procStartTime(pgid);
  return procStart === undefined || now === undefined || now === procStart;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the group, up to `graceMs` for it to go, then SIGKILL. */
export async function stopGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await sleep(25);
  }
  signalGroup(pgid, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && groupAlive(pgid)) await sleep(25);
}
