/** Runs the built `gantry` binary the way a user does, with no terminal and no stdin. */
import { spawn, spawnSync } from "node:child_process";
import { BIN, ROOT } from "./paths.js";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function gantry(args: string[], cwd = ROOT, env?: Record<string, string>): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    ...(env ? { env: { ...process.env, ...env } } : {}),
    encoding: "utf8",
    input: "",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The binary without waiting for it (other work of the test goes on meanwhile): no stdin, CI set
 * (no colours, no prompts), GANTRY_USER `tester` unless `env` says otherwise.
 */
export function gantryAsync(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, CI: "1", GANTRY_USER: "tester", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
