/**
 * Restart figures for `npm run bench`: how long `gantry resume` takes to have a release
 * executing again after the process running it was killed with SIGKILL mid-monitoring.
 *
 * Each attempt releases a new version of a quickstart copy with GANTRY_FAILPOINT set, so the
 * release kills itself with SIGKILL 300 ms after `monitor:started` is written, then starts
 * `gantry resume` through the real binary and lets it run the release to its end. Times
 * are read afterwards from the run's event log (stamped by Postgres, the same clock as this
 * process) against the moment the resume process was spawned:
 *
 * - executing again: the first event the recovered run itself writes that the killed
 *   process had not (a monitoring sample's measurement, normally). That is the run doing new
 *   work, not only the resume verb saying so.
 * - run.resumed: the event the resume verb writes once DBOS has launched and recovered the run.
 *
 * Killing gantry leaves its embedded Postgres running (pg_ctl starts the server in a session
 * of its own), and the resume adopts it. A crash that takes the server too (the machine, or
 * the OOM killer taking both) is measured separately: the server's process group is killed
 * with SIGKILL as well, and the resume must start it again, with crash recovery. The
 * server's own share is read from its log: "starting PostgreSQL" → "ready to accept
 * connections".
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { runningPort } from "../src/store/embedded.js";
import type { RunEvent } from "../src/store/events.js";
import type { Row } from "./engine.js";
import { type Workspace, workspace } from "./workspace.js";

const ATTEMPTS = Number(process.env.GANTRY_BENCH_ATTEMPTS ?? 5);
const FAILPOINT = "monitor:started@300";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall-clock milliseconds now, at performance.now() resolution. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

interface Attempt {
  /** Resume spawned → first new event of the run itself. */
  executingMs: number;
  /** Resume spawned → run.resumed written. */
  resumedMs: number;
  /** The first new event: what it was, and whether it waited for its monitoring slot. */
  first: string;
  /** Its sample's slot (T + k × interval) was later than run.resumed: it waited for the schedule. */
  scheduled: boolean;
  /** Whether this resume started the Postgres server (false: it adopted the running one). */
  serverStarted: boolean;
  /** The server's own start ("starting PostgreSQL" → "ready to accept connections"), if started. */
  serverMs?: number;
  /** Resume spawned → server ready, if started. */
  serverReadyMs?: number;
}

function postmasterPid(w: Workspace): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(w.pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

function serverLogTail(w: Workspace): string {
  try {
    return fs.readFileSync(path.join(w.pgDir, "server.log"), "utf8").split("\n").slice(-12).join("\n");
  } catch {
    return "";
  }
}

/** Whether any process of process group `pgid` still exists, zombies included (Linux /proc). */
function groupExists(pgid: number): boolean {
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces, so read after its closing parenthesis.
    const pgrp = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2];
    if (Number(pgrp) === pgid) return true;
  }
  return false;
}

/**
 * The server's start that began between `from` and `to` (wall ms), from its log: when it
 * logged "starting PostgreSQL" and "ready to accept connections". Undefined when none did.
 */
function serverStartBetween(
  w: Workspace,
  from: number,
  to: number,
): { starting: number; ready: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(w.pgDir, "server.log"), "utf8");
  } catch {
    return undefined;
  }
  // log_line_prefix '%m [%p] ': "2026-12-01 12:00:00.123 UTC [123] LOG:  …"
  const stamp = (line: string) => {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) (UTC|GMT|[+-]\d\d(?::?\d\d)?)\b/.exec(line);
    if (!m) return Number.NaN;
    const zone = m[3] === "UTC" || m[3] === "GMT" ? "Z" : m[3]!;
    return Date.parse(`${m[1]}T${m[2]}${zone}`);
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes("starting PostgreSQL")) continue;
    const starting = stamp(lines[i]!);
    // Whole milliseconds in the log: allow one either side.
    if (!(starting >= from - 1 && starting <= to + 1)) continue;
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j]!.includes("starting PostgreSQL")) break;
      if (lines[j]!.includes("database system is ready to accept connections")) {
        const ready = stamp(lines[j]!);
        return Number.isFinite(ready) ? { starting, ready } : undefined;
      }
    }
  }
  return undefined;
}

async function attempt(w: Workspace, ref: string, killServer: boolean): Promise<Attempt> {
  const crashed = await w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json"], {
    GANTRY_FAILPOINT: FAILPOINT,
  });
  if (crashed.signal !== "SIGKILL") {
    throw new Error(
      `release ${ref} with ${FAILPOINT} was not killed (exit ${crashed.code}): ${crashed.stderr.slice(-500)}`,
    );
  }
  // No gantry command runs between the crash and the resume: the last one to leave the
  // embedded server stops it, which would take away the server the crash left running.
  const pidBefore = postmasterPid(w);
  if (runningPort(w.pgDir) === undefined || !pidBefore)
    throw new Error("the embedded Postgres died with gantry");
  if (killServer) {
    // The server runs in a session of its own: its process group is the postmaster's pid.
    process.kill(-pidBefore, "SIGKILL");
    // Until every process of the group is gone, reaped too: a new server refuses to start
    // while an old backend holds the shared memory, or while the old postmaster's pid, named
    // in postmaster.pid, still exists (a zombie counts). Not part of the figure.
    for (let i = 0; i < 500 && groupExists(pidBefore); i++) await sleep(20);
    if (groupExists(pidBefore)) throw new Error("the killed Postgres's processes did not go away");
  }

  let spawnedAt = 0;
  const resumed = await w.gantry(["resume", "--json"], {}, 150_000, () => {
    spawnedAt = wallNow();
  });
  const run = String(resumed.json?.run ?? "");
  if (!run) {
    throw new Error(
      `${ref}: resume (exit ${resumed.code}) names no run: ${resumed.stderr.slice(-500)}\n${serverLogTail(w)}`,
    );
  }
  const after = await w.log(run);
  const monitor = after.find((e) => e.kind === "monitor.started");
  if (!monitor || Date.parse(monitor.at) >= spawnedAt)
    throw new Error(`${ref}: killed before monitoring started`);
  // Stamped by Postgres: what the killed process wrote is older than the resume.
  const fresh = after.filter((e) => Date.parse(e.at) >= spawnedAt);
  const mark = fresh.find((e) => e.kind === "run.resumed");
  const first = fresh.find((e) => e.kind !== "run.resumed");
  if (!mark || !first) {
    throw new Error(
      `${ref}: resume (exit ${resumed.code}) left no run.resumed or no new event: ${resumed.stderr.slice(-500)}`,
    );
  }
  // Whether the resume started the server: a start logged between its spawn and run.resumed.
  const start = serverStartBetween(w, spawnedAt, Date.parse(mark.at));
  const result: Attempt = {
    executingMs: Date.parse(first.at) - spawnedAt,
    resumedMs: Date.parse(mark.at) - spawnedAt,
    first: describe(first),
    scheduled: slotOf(first, monitor) > Date.parse(mark.at),
    serverStarted: start !== undefined,
    ...(start ? { serverMs: start.ready - start.starting, serverReadyMs: start.ready - spawnedAt } : {}),
  };
  if (process.env.GANTRY_BENCH_DEBUG) {
    process.stderr.write(
      `${ref} kill server ${killServer}: ${JSON.stringify(result)}\n${after
        .filter((e) => Date.parse(e.at) >= spawnedAt - 1500)
        .map((e) => `  ${e.seq} ${e.at} ${e.kind} ${e.key}`)
        .join("\n")}\n`,
    );
  }
  return result;
}

function describe(e: RunEvent): string {
  return e.kind === "measurement" ? "a monitoring measurement" : e.kind;
}

/** When a measurement's sample was due (T + k × interval); other events were due at once. */
function slotOf(e: RunEvent, monitor: RunEvent): number {
  if (e.kind !== "measurement") return 0;
  const interval = /^(\d+)s$/.exec(String(monitor.data.interval));
  if (!interval) return 0;
  return Date.parse(String(monitor.data.t)) + Number(e.data.sample) * Number(interval[1]) * 1000;
}

function figure(
  attempts: Attempt[],
  key: "executingMs" | "resumedMs" | "serverMs" | "serverReadyMs",
): string {
  const values = attempts.map((a) => a[key]).filter((v): v is number => v !== undefined);
  if (values.length === 0) return "?";
  return `${median(values).toFixed(0)} ms (max ${Math.max(...values).toFixed(0)})`;
}

export async function restartRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const w = await workspace({ previous: "1.0.0" });
  try {
    const gantryOnly: Attempt[] = [];
    const withServer: Attempt[] = [];
    for (let i = 0; i < ATTEMPTS; i++) gantryOnly.push(await attempt(w, `v3.0.${i + 1}`, false));
    for (let i = 0; i < ATTEMPTS; i++) withServer.push(await attempt(w, `v3.1.${i + 1}`, true));

    const notes = (attempts: Attempt[]) => {
      const out: string[] = [];
      const firsts = [...new Set(attempts.map((a) => a.first))];
      out.push(`first: ${firsts.join(" / ")}`);
      const waited = attempts.filter((a) => a.scheduled).length;
      if (waited) out.push(`${waited} of ${attempts.length} waited for their monitoring slot`);
      const started = attempts.filter((a) => a.serverStarted).length;
      out.push(
        started === 0
          ? "Postgres adopted, not started"
          : `Postgres started in ${started} of ${attempts.length}`,
      );
      return out.join("; ");
    };
    const cmd = `GANTRY_FAILPOINT=${FAILPOINT} node bin/gantry.js release …; node bin/gantry.js resume`;
    rows.push([
      `restart → resumed after kill -9 of gantry mid-monitoring: resume spawned → first event the recovered run writes (median of ${ATTEMPTS}; ${notes(gantryOnly)})`,
      figure(gantryOnly, "executingMs"),
      "≤ 1 s",
      cmd,
    ]);
    rows.push([
      "  of which: resume spawned → run.resumed written (DBOS launched, run recovered, not yet executing)",
      figure(gantryOnly, "resumedMs"),
      "printed",
      "npm run bench",
    ]);
    rows.push([
      `restart → resumed after kill -9 of gantry and its Postgres: same definition (median of ${ATTEMPTS}; ${notes(withServer)})`,
      figure(withServer, "executingMs"),
      "≤ 1 s",
      `${cmd}, the postmaster's process group killed -9 before the resume`,
    ]);
    rows.push([
      "  of which: resume spawned → run.resumed written",
      figure(withServer, "resumedMs"),
      "printed",
      "npm run bench",
    ]);
    rows.push([
      "  of which: resume spawned → Postgres ready (server.log)",
      figure(withServer, "serverReadyMs"),
      "printed",
      "npm run bench",
    ]);
    rows.push([
      "  of which: Postgres's own start, crash recovery included (server.log: starting → ready)",
      figure(withServer, "serverMs"),
      "printed",
      "npm run bench",
    ]);
  } finally {
    await w.cleanup();
  }
  return rows;
}
