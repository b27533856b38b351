/**
 * Helpers the providers share: how a duration reads, the effective timeout of a call, version
 * comparison, a sleep that an abort ends, a thrown error as a failed result, and whether a
 * failed command certainly ran nothing. The providers' memory itself is behind the contract
 * in src/store/provider-state-store.ts (kept in Postgres, src/store/provider-state.ts).
 */
import type { DeployAction } from "../store/provider-state-store.js";

export type {
  DeployAction,
  DeployEntry,
  DeployOutcome,
  ProviderStateStore,
} from "../store/provider-state-store.js";

/** "30s", "1m30s", "15m", "500 ms": how a timeout reads in a message. */
export function durationText(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)}s`;
  const units: [string, number][] = [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  let rest = ms;
  let text = "";
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text;
}

/** The effective timeout of a call: the spec's, shortened by the request's when that is smaller. */
export function effectiveTimeout(specMs: number, requestMs: number | undefined): number {
  return requestMs !== undefined && requestMs > 0 ? Math.min(specMs, requestMs) : specMs;
}

/** Versions compare without surrounding space or a leading v: "v2.0.0\n" equals "2.0.0". */
export function sameVersion(a: string | undefined, b: string | undefined): boolean {
  const norm = (v: string) => v.trim().replace(/^v(?=\d)/, "");
  return a !== undefined && b !== undefined && norm(a) === norm(b);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A provider call that threw, as a failed result: never an exception out of a provider.
 * `started`: whether the call had begun changing anything before it threw.
 */
export function thrown(
  action: DeployAction,
  version: string,
  e: unknown,
  redact: (t: string) => string,
  started: boolean,
) {
  return {
    ok: false,
    started,
    message: `${action} of ${version} failed: ${redact((e as Error).message ?? String(e))}`,
  };
}

/**
 * Whether a command that exited 127 certainly ran nothing: it is one line, and all it printed
 * is the shell's own "not found" for its first word (dash, bash and busybox word it
 * differently). `a && b` with `a` missing qualifies; `a; b` or a script that fails inside
 * does not. When in doubt the answer is false: something may have run.
 */
export function ranNothing(command: string, exitCode: number | undefined, output: string[]): boolean {
  if (exitCode !== 127 || command.includes("\n")) return false;
  const word = command.trim().split(/\s+/)[0] ?? "";
  if (word === "" || word.includes("=")) return false;
  const lines = output.map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) return false;
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const notFound = new RegExp(`^(?:/bin/)?sh: (?:(?:line )?\\d+: )?${escaped}: (?:command )?not found$`);
  return lines.every((line) => notFound.test(line));
}
