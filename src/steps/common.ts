/** Helpers the step modules share: what a command's end says, a probe's verdict, a guarded body. */
import { type CommandResult, describeEnd } from "../exec/command.js";
import type { StepContext, StepResult } from "./contract.js";

/** A command ended well: exit 0, not timed out. */
export function succeeded(result: CommandResult): boolean {
  return result.exitCode === 0 && !result.timedOut;
}

/** A command's result as a step's: how it ended, and its last lines when it failed. */
export function commandResult(result: CommandResult, timeoutText?: string, prefix = ""): StepResult {
  const ok = succeeded(result);
  return { ok, message: `${prefix}${describeEnd(result, timeoutText)}${ok ? "" : lastLines(result.output)}` };
}

/** The last few non-empty lines of output, for a failure's message. */
export function lastLines(lines: string[]): string {
  const tail = lines.filter((l) => l.trim() !== "").slice(-3);
  return tail.length ? `: ${tail.join(" ⏎ ")}` : "";
}

/** The last non-empty line a command printed, trimmed. */
export function lastLine(stdout: string): string | undefined {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
}

/** Runs `body`; an error it throws (a secret not set, a database down) is the step's failure. */
export async function guarded(ctx: StepContext, body: () => Promise<StepResult>): Promise<StepResult> {
  try {
    return await body();
  } catch (e) {
    return { ok: false, message: ctx.redact((e as Error).message) };
  }
}

/** How long a backup command or one migration applied by the team's tool may take. */
export const LONG_COMMAND_MS = 3_600_000;
/** A pre-flight or rollback command without a timeout of its own. */
export const DEFAULT_COMMAND_MS = 600_000;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
