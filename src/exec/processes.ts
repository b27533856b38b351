/**
 * The processes a command left: on Linux, /proc says when a process started (pids get
 * reused) and which processes carry a marker in their environment. Every command Gantry runs
 * gets a marker of its own (GANTRY_COMMAND_ID), which its descendants inherit even when they
 * leave its process group with setsid or are re-parented to init, so all of them can be
 * found and stopped. Elsewhere only the process group is known.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export const MARKER_VARIABLE = "GANTRY_COMMAND_ID";

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … starttime. */
export function procStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** When the process started, in clock ticks since boot (Linux); undefined elsewhere or when gone. */
export function procStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/** Alive and not a zombie (when /proc can tell). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = procStat(pid)?.[0];
  return state !== "Z" && state !== "X";
}

/** The live processes whose environment holds `GANTRY_COMMAND_ID=<marker>` (Linux; [] elsewhere). */
export function processesMarked(marker: string): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const needle = Buffer.from(`${MARKER_VARIABLE}=${marker}\0`);
  const found: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`).includes(needle) && running(pid)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

/**
 * Ends a command's processes: its group and every process carrying its marker. SIGTERM,
 * up to `graceMs` for them to go, then SIGKILL. Returns the pids that were running.
 */
export async function endCommand(
  pgid: number | undefined,
  marker: string,
  graceMs = 2000,
): Promise<number[]> {
  const found = new Set(processesMarked(marker));
  if (pgid && running(pgid)) found.add(pgid);
  if (pgid) signal(-pgid, "SIGTERM");
  for (const pid of found) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  const left = () =>
    [...found].filter(running).length + processesMarked(marker).filter((p) => !found.has(p)).length;
  while (Date.now() < deadline && left() > 0) await sleep(25);
  if (left() > 0) {
    if (pgid) signal(-pgid, "SIGKILL");
    for (const pid of [...found, ...processesMarked(marker)]) signal(pid, "SIGKILL");
    const killDeadline = Date.now() + 2000;
    while (Date.now() < killDeadline && left() > 0) await sleep(25);
  }
  return [...found].sort((a, b) => a - b);
}
