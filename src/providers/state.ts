/**
 * A provider's memory between calls and between Gantry processes: `<stateDir>/state.json`.
 * It records what is serving now, the last known good version, and one `deploys` entry per
 * real deploy or rollback (keyed by the idempotency key), so a replayed step can tell what
 * already happened. Reads and writes are synchronous: a read-change-write never interleaves
 * with another call in the same process, and the write goes to a temp file that is renamed
 * over the old one, so a crash never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type DeployAction = "deploy" | "rollback";
/** in-progress: started, not finished yet (or Gantry stopped meanwhile); interrupted: superseded by a retry. */
export type DeployOutcome = "in-progress" | "ok" | "failed" | "interrupted";

export interface DeployEntry {
  key: string;
  version: string;
  action: DeployAction;
  startedAt: string;
  result: DeployOutcome;
  finishedAt?: string;
  /** One line: what happened. */
  message?: string;
  /** The version serving when this entry started, when known. */
  previousVersion?: string;
  /** local-process: the process group started for this entry. */
  pid?: number;
}

export interface CurrentDeployment {
  version: string;
  startedAt: string;
  /** local-process: the process group leader, its port, and its start time in /proc (guards against pid reuse). */
  pid?: number;
  port?: number;
  procStart?: string;
}

export interface ProviderState {
  current?: CurrentDeployment;
  lastKnownGood?: string;
  deploys: DeployEntry[];
}

/** Old entries are dropped beyond this many; a release makes a handful. */
const MAX_ENTRIES = 500;

export class StateFile {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, "state.json");
  }

  read(): ProviderState {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { deploys: [] };
      throw e;
    }
    let data: Partial<ProviderState>;
    try {
      data = JSON.parse(text) as Partial<ProviderState>;
    } catch (e) {
      throw new Error(`${this.path} is not valid JSON (${(e as Error).message}); fix or remove it`);
    }
    return { ...data, deploys: Array.isArray(data.deploys) ? data.deploys : [] };
  }

  /** Reads, lets `change` edit the state, writes it back; returns the new state. */
  update(change: (state: ProviderState) => void): ProviderState {
    const state = this.read();
    change(state);
    if (state.deploys.length > MAX_ENTRIES) state.deploys.splice(0, state.deploys.length - MAX_ENTRIES);
    mkdirSync(this.dir, { recursive: true });
    const temp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temp, this.path);
    return state;
  }

  /** The latest entry recorded for `key`. */
  entry(key: string): DeployEntry | undefined {
    return lastEntry(this.read().deploys, key);
  }

  /**
   * Records the start of a real deploy or rollback, and `change` in the same write. Earlier
   * unfinished entries for the key become "interrupted".
   */
  begin(entry: Omit<DeployEntry, "startedAt" | "result">, change?: (state: ProviderState) => void): void {
    this.update((state) => {
      change?.(state);
      for (const e of state.deploys) {
        if (e.key === entry.key && e.result === "in-progress") e.result = "interrupted";
      }
      state.deploys.push({ ...entry, startedAt: new Date().toISOString(), result: "in-progress" });
    });
  }

  /** Records the end of the latest entry for `key`. */
  finish(
    key: string,
    result: "ok" | "failed",
    message: string,
    change?: (state: ProviderState) => void,
  ): void {
    this.update((state) => {
      const entry = lastEntry(state.deploys, key);
      if (entry) Object.assign(entry, { result, message, finishedAt: new Date().toISOString() });
      change?.(state);
    });
  }

  lastKnownGood(): string | undefined {
    return this.read().lastKnownGood;
  }

  markGood(version: string): void {
    this.update((state) => {
      state.lastKnownGood = version;
    });
  }
}

function lastEntry(deploys: DeployEntry[], key: string): DeployEntry | undefined {
  for (let i = deploys.length - 1; i >= 0; i--) if (deploys[i]!.key === key) return deploys[i];
  return undefined;
}

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

/** A provider call that threw, as a failed result: never an exception out of a provider. */
export function thrown(action: DeployAction, version: string, e: unknown, redact: (t: string) => string) {
  return {
    ok: false,
    message: `${action} of ${version} failed: ${redact((e as Error).message ?? String(e))}`,
  };
}
