/**
 * What the fly provider reads off an app's Machines: whether one serves (started, its checks
 * passing) and why not, which to bring to an image first, the version most of them run, how
 * they split between versions, the canary's share in Machines, and the status of them all.
 */
import type { FlyMachine } from "./fly-api.js";
import type { ProviderStatus } from "./types.js";

type VersionOf = (m: FlyMachine) => string | undefined;

/** Not started and nothing wrong: Fly starts these on the next request (autostop). */
export const IDLE = new Set(["stopped", "suspended"]);
/** On the way somewhere. */
export const MOVING = new Set([
  "created",
  "starting",
  "replacing",
  "stopping",
  "suspending",
  "launching",
  "updating",
]);

/**
 * Why a started Machine's checks do not all pass, or undefined when they do (or it declares
 * none). A check its config declares that has not reported yet counts as not passing.
 */
export function checksOf(m: FlyMachine): string | undefined {
  const reported = m.checks ?? [];
  const expected =
    Object.keys(m.config.checks ?? {}).length +
    (m.config.services ?? []).reduce((n, s) => n + (s.checks?.length ?? 0), 0);
  const failing = reported.filter((c) => c.status !== "passing");
  if (failing.length > 0) {
    return failing
      .map((c) => {
        const output = c.output?.replace(/\s+/g, " ").trim().slice(0, 160);
        return `${c.name ?? "check"} ${c.status ?? "unknown"}${output ? `: ${JSON.stringify(output)}` : ""}`;
      })
      .join("; ");
  }
  if (reported.length < expected) return `${reported.length} of ${expected} checks reported yet`;
  return undefined;
}

/** Whether a Machine serves as it is: started with its checks passing, or idle. */
export function settled(m: FlyMachine): boolean {
  return IDLE.has(m.state) || (m.state === "started" && checksOf(m) === undefined);
}

/** The Machines to bring to `image`, `want` of them: those that have it first, then started ones, by id. */
export function pick(machines: FlyMachine[], image: string, want: number): FlyMachine[] {
  const rank = (m: FlyMachine) => (m.config.image === image ? 0 : m.state === "started" ? 1 : 2);
  return [...machines].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id)).slice(0, want);
}

/**
 * The version most Machines run (ties: `prefer`, else the one updated last); undefined when
 * most run an image whose version cannot be told.
 */
export function majority(machines: FlyMachine[], versionOf: VersionOf, prefer?: string): string | undefined {
  const tally = new Map<string, { version?: string; n: number; at: string }>();
  for (const m of machines) {
    const version = versionOf(m);
    const label = version ?? `\0${m.config.image}`;
    const t = tally.get(label) ?? { ...(version ? { version } : {}), n: 0, at: "" };
    const at = m.updated_at ?? "";
    tally.set(label, { ...t, n: t.n + 1, at: at > t.at ? at : t.at });
  }
  let best: { version?: string; n: number; at: string } | undefined;
  const preferred = (x: { version?: string }) => prefer !== undefined && x.version === prefer;
  for (const t of tally.values()) {
    if (!best || t.n > best.n || (t.n === best.n && (preferred(t) || (!preferred(best) && t.at > best.at))))
      best = t;
  }
  return best?.version;
}

/** "2.0.0 on 1 of 10 machines, 1.0.0 on 9" / "1.0.0 on all 3 machines" (an unknown version by its image). */
export function split(machines: FlyMachine[], versionOf: VersionOf): string {
  const tally = new Map<string, number>();
  for (const m of machines) {
    const label = versionOf(m) ?? m.config.image;
    tally.set(label, (tally.get(label) ?? 0) + 1);
  }
  const parts = [...tally].sort((a, b) => b[1] - a[1]);
  const n = machines.length;
  if (parts.length === 1) return `${parts[0]![0]} on ${n === 1 ? "its one machine" : `all ${n} machines`}`;
  return parts.map(([v, k], i) => (i === 0 ? `${v} on ${k} of ${n} machines` : `${v} on ${k}`)).join(", ");
}

/**
 * The app's status from its Machines: the version most run; healthy when every Machine is
 * started with its checks passing, or stopped (autostop).
 */
export function fleetStatus(list: FlyMachine[], versionOf: VersionOf): ProviderStatus {
  const machines = [...list].sort((a, b) => a.id.localeCompare(b.id));
  const version = majority(machines, versionOf);
  const problems: string[] = [];
  for (const m of machines) {
    if (IDLE.has(m.state)) continue;
    if (m.state !== "started") problems.push(`machine ${m.id} ${m.state}`);
    else {
      const why = checksOf(m);
      if (why) problems.push(`machine ${m.id} ${why}`);
    }
  }
  const idle = machines.filter((m) => IDLE.has(m.state)).length;
  const state =
    problems.length > 0
      ? `${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; ${problems.length - 3} more` : ""}`
      : idle === machines.length
        ? "all stopped (Fly starts them on the next request)"
        : `started, checks passing${idle ? ` (${idle} stopped)` : ""}`;
  return {
    ...(version ? { version } : {}),
    healthy: problems.length === 0,
    message: `${split(machines, versionOf)}; ${state}`,
  };
}

/** How many of `n` Machines carry a canary of `weight`: round(weight × n), at least 1, below n until promoted. */
export function canaryCount(weight: number, n: number): number {
  if (weight >= 1) return n;
  return Math.min(Math.max(1, Math.round(weight * n)), Math.max(1, n - 1));
}

export function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}
