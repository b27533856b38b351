/**
 * A throwaway copy of the quickstart for the engine figures: its own folder, loopback port
 * and embedded Postgres, monitoring compressed so a release takes seconds. Runs the real
 * `gantry` binary as a child process, so a figure can crash it the way a kill -9 would.
 * (Bench code stands on its own: this is not the test suite's helper.)
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/exec/port.js";
import { stopServer } from "../src/store/embedded.js";
import type { RunEvent } from "../src/store/events.js";

/** The repository, from the compiled bench in dist/bench/. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = path.join(ROOT, "bin/gantry.js");

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
}

export interface Workspace {
  dir: string;
  runbook: string;
  dataDir: string;
  /** The embedded Postgres cluster (postmaster.pid, server.log). */
  pgDir: string;
  /** Runs gantry with `args` (plus --data-dir), no terminal, no stdin; `onSpawn` sees the child start. */
  gantry(
    args: string[],
    env?: Record<string, string>,
    guardMs?: number,
    onSpawn?: () => void,
  ): Promise<Outcome>;
  /** A run's event log, through `gantry log RUN --json`. */
  log(run: string): Promise<RunEvent[]>;
  cleanup(): Promise<void>;
}

export interface WorkspaceOptions {
  /** Pretend this version was released here before: the provider knows it as last known good. */
  previous?: string;
  /** Rewrites of the runbook text, applied in order. */
  edit?: Array<[string | RegExp, string]>;
  /** Keep the quickstart's notify section. */
  notify?: boolean;
}

export async function workspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-ws-"));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const dataDir = path.join(dir, ".gantry");
  const pgDir = path.join(dataDir, "postgres");
  fs.copyFileSync(path.join(ROOT, "examples/quickstart/service.mjs"), path.join(dir, "service.mjs"));
  let text = fs
    .readFileSync(path.join(ROOT, "examples/quickstart/runbook.yaml"), "utf8")
    .replaceAll("18080", String(port))
    .replace("checkpoints: [T+5s, T+10s, T+15s]", "checkpoints: [T+2s, T+8s]")
    .replace("for: 3s", "for: 2s");
  // The inbox channel is the quickstart's own (run.mjs starts it).
  if (!options.notify) text = text.replace(/\n# Who is told what[\s\S]*$/, "\n");
  for (const [from, to] of options.edit ?? []) text = text.replace(from, to);
  const runbook = path.join(dir, "runbook.yaml");
  fs.writeFileSync(runbook, text);
  const stateDir = path.join(dataDir, "services", "quickstart", "local");
  if (options.previous) {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(
      path.join(stateDir, "state.json"),
      JSON.stringify({ lastKnownGood: options.previous, deploys: [] }),
    );
  }
  const children = new Set<ReturnType<typeof spawn>>();
  const gantry: Workspace["gantry"] = (args, extra = {}, guardMs = 150_000, onSpawn) => {
    onSpawn?.();
    const child = spawn(process.execPath, [BIN, ...args, "--data-dir", dataDir], {
      cwd: dir,
      env: { ...process.env, CI: "1", DEFECT_AFTER_MS: "2500", GANTRY_USER: "bench", ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // A hang guard, never a timing.
    const timer = setTimeout(() => child.kill("SIGKILL"), guardMs);
    return new Promise<Outcome>((resolve) =>
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(stdout) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ code, signal, stdout, stderr, ...(json ? { json } : {}) });
      }),
    );
  };
  return {
    dir,
    runbook,
    dataDir,
    pgDir,
    gantry,
    log: async (run) => {
      const r = await gantry(["log", run, "--json"]);
      return JSON.parse(r.stdout) as RunEvent[];
    },
    cleanup: async () => {
      for (const c of children) c.kill("SIGKILL");
      // The service a release left serving: process.json (local-process), or a 0.4 state.json.
      for (const [file, pidOf] of [
        ["process.json", (r: { pid?: number }) => r.pid],
        ["state.json", (r: { current?: { pid?: number } }) => r.current?.pid],
      ] as const) {
        try {
          const pid = pidOf(JSON.parse(fs.readFileSync(path.join(stateDir, file), "utf8")));
          if (pid) process.kill(-pid, "SIGKILL");
        } catch {
          // nothing running
        }
      }
      await stopServer(pgDir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
