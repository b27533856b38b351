/** Runs the built `gantry` binary the way a user does, with no terminal and no stdin. */
import { spawnSync } from "node:child_process";
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
