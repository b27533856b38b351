/**
 * A throwaway copy of the quickstart for engine tests: its own folder, loopback port and
 * embedded Postgres, with timings compressed further so a release takes seconds. Runs the
 * real `gantry` binary as a child process, so tests can kill it like a crash would.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../src/exec/port.js";
import { stopServer } from "../../src/store/embedded.js";
import { BIN, ROOT } from "./paths.js";

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
  port: number;
  /** Runs gantry with `args` (plus --data-dir), no terminal, no stdin. */
  gantry(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<Outcome>;
  /** Starts gantry and returns the child, for tests that signal it. */
  spawn(args: string[], env?: Record<string, string>): ReturnType<typeof spawn>;
  /**
   * The provider state of the quickstart in `local`, read from the database after gantry
   * exited (through `gantry deployments --json`): what serves, the last known good version,
   * and every deploy and rollback entry.
   */
  providerState(): Promise<{
    current?: string;
    lastKnownGood?: string;
    deploys: Array<{ key: string; version: string; action: string; result: string }>;
  }>;
  /** How many times each gate's command really ran. */
  gateRuns(): number;
  cleanup(): Promise<void>;
}

export interface WorkspaceOptions {
  /** Pretend 1.0.0 was released here before: the provider knows it as last known good. */
  previous?: string;
  /** Rewrites of the runbook text, applied in order. */
  edit?: Array<[string | RegExp, string]>;
  /** Keep the quickstart's notify section (its inbox channel); by default it is left out. */
  notify?: boolean;
}

export { freePort };

/** The quickstart's inbox channel as its runbook writes it: tests replace it with another channel. */
export const QUICKSTART_INBOX = `    inbox:
      type: webhook
      url: env:QUICKSTART_INBOX_URL
      secret: env:QUICKSTART_INBOX_SECRET
      timeout: 5s
      retry: [1s, 2s]
`;

/** The inbox channel as a Slack Web API channel, posting to `channel` on the server at `api`. */
export function slackInbox(channel: string, api: string, retry = "[1s, 2s]"): string {
  return `    inbox:\n      type: slack\n      token: env:SLACK_TOKEN\n      channel: ${channel}\n      api: ${api}\n      retry: ${retry}\n`;
}

export async function workspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-ws-"));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const dataDir = path.join(dir, ".gantry");
  fs.copyFileSync(path.join(ROOT, "examples/quickstart/service.mjs"), path.join(dir, "service.mjs"));
  let text = fs
    .readFileSync(path.join(ROOT, "examples/quickstart/runbook.yaml"), "utf8")
    .replaceAll("18080", String(port))
    .replace("run: node --check service.mjs", "run: node --check service.mjs && echo ran >> gate-runs.log")
    .replace("checkpoints: [T+5s, T+10s, T+15s]", "checkpoints: [T+2s, T+8s]")
    .replace("for: 3s", "for: 2s")
    // The smoke budget is the quickstart's, not these tests' subject: on a machine running two
    // test files at once a sample can take more than 500 ms.
    .replace("      p95: 500ms", "      p95: 5s");
  if (!options.notify) text = text.replace(/\n# Who is told what[\s\S]*$/, "\n");
  for (const [from, to] of options.edit ?? []) text = text.replace(from, to);
  const runbook = path.join(dir, "runbook.yaml");
  fs.writeFileSync(runbook, text);
  // The provider's local folder: 0.4 kept its whole state here (state.json, still imported once
  // on upgrade, which is how `previous` is set up); local-process keeps process.json here.
  const stateDir = path.join(dataDir, "services", "quickstart", "local");
  if (options.previous) {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(
      path.join(stateDir, "state.json"),
      JSON.stringify({ lastKnownGood: options.previous, deploys: [] }),
    );
  }
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    CI: "1",
    // Late enough that smoke tests finish first even on a loaded machine, so v2 is caught
    // by monitoring, as the tests expect.
    DEFECT_AFTER_MS: "2500",
    GANTRY_USER: "tester",
    ...extra,
  });
  const children = new Set<ReturnType<typeof spawn>>();
  const start = (args: string[], extra?: Record<string, string>) => {
    const child = spawn(process.execPath, [BIN, ...args, "--data-dir", dataDir], {
      cwd: dir,
      env: env(extra),
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    child.on("exit", () => children.delete(child));
    return child;
  };
  return {
    dir,
    runbook,
    dataDir,
    port,
    spawn: start,
    gantry: (args, extra, timeoutMs = 90_000) => watch({ spawn: start }, args, extra, timeoutMs).closed,
    providerState: async () => {
      const r = await watch(
        { spawn: start },
        ["deployments", "--env", "local", "--service", "quickstart", "--limit", "1000", "--json"],
        undefined,
        90_000,
      ).closed;
      if (r.code !== 0 || !Array.isArray(r.json)) {
        throw new Error(`gantry deployments failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
      }
      const view = (r.json as Array<Record<string, unknown>>)[0];
      if (!view) return { deploys: [] };
      return {
        ...(typeof view.current === "string" ? { current: view.current } : {}),
        ...(typeof view.lastKnownGood === "string" ? { lastKnownGood: view.lastKnownGood } : {}),
        deploys: view.entries as Array<{ key: string; version: string; action: string; result: string }>,
      };
    },
    gateRuns: () => {
      try {
        return fs.readFileSync(path.join(dir, "gate-runs.log"), "utf8").trim().split("\n").length;
      } catch {
        return 0;
      }
    },
    cleanup: async () => {
      for (const c of children) c.kill("SIGKILL");
      // The service local-process left running (process.json; state.json from `previous` never has one).
      try {
        const record = JSON.parse(fs.readFileSync(path.join(stateDir, "process.json"), "utf8"));
        if (record.process?.pid) process.kill(-record.process.pid, "SIGKILL");
      } catch {
        // nothing running
      }
      await stopServer(path.join(dataDir, "postgres"));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `gantry status RUN --json` until `until` holds. With `child` (the release being
 * watched), gives up as soon as it ends and says how it ended, instead of polling on.
 */
export async function waitFor(
  w: Workspace,
  until: (view: Record<string, unknown>) => boolean,
  runId?: string,
  child?: Promise<Outcome>,
) {
  let ended: Outcome | undefined;
  void child?.then((r) => (ended = r));
  let last: unknown;
  let run = runId;
  for (let i = 0; i < 150; i++) {
    if (!run) {
      const list = (await w.gantry(["status", "--json"])).json;
      run = Array.isArray(list) && list[0] ? (list[0] as { run: string }).run : undefined;
    }
    if (run) {
      const r = await w.gantry(["status", run, "--json"]);
      last = r.json ?? r.stderr;
      if (r.json && until(r.json)) return r.json;
    }
    if (ended) {
      throw new Error(
        `the release ended (exit ${ended.code}) before the awaited state\n${ended.stderr}\nlast view: ${JSON.stringify(last)}`,
      );
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for the run; last view: ${JSON.stringify(last)}`);
}

/** The embedded Postgres cluster of a workspace (postmaster.pid, server.log). */
export function pgDirOf(w: Workspace): string {
  return path.join(w.dataDir, "postgres");
}

/** A gantry started in the background, its output collected. */
export interface Watched {
  child: ReturnType<typeof spawn>;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** How it ended; a process still running after the hang guard is killed with SIGKILL. */
  closed: Promise<Outcome>;
}

/** Starts gantry like `w.spawn` and collects its output; `guardMs` is a hang guard, never a timing. */
export function watch(
  w: Pick<Workspace, "spawn">,
  args: string[],
  env?: Record<string, string>,
  guardMs = 150_000,
): Watched {
  const child = w.spawn(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const closed = new Promise<Outcome>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, ...(json ? { json } : {}) });
    }),
  );
  return { child, pid: child.pid!, stdout: () => stdout, stderr: () => stderr, closed };
}

/** A run's event log, read through `gantry log RUN --json`. */
export async function events(
  w: Workspace,
  runId: string,
): Promise<Array<{ kind: string; key: string; data: Record<string, unknown> }>> {
  const r = await w.gantry(["log", runId, "--json"]);
  try {
    return JSON.parse(r.stdout);
  } catch {
    return [];
  }
}
