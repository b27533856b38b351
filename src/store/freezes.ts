/**
 * Freezes people declare with `gantry freeze`: kept in the actions log (ACTIONS_LOG) as
 * `freeze.declared` and `freeze.lifted` events, so they are chained and audited like every
 * other action, and read from there by the engine's window check.
 */
import { ACTIONS_LOG, type EventData } from "./event-kinds.js";
import type { EventStore } from "./events.js";

/** A freeze as declared (the `freeze.declared` event's data), and its lifting if it was lifted early. */
export type DeclaredFreeze = Omit<EventData["freeze.declared"], "authenticated"> & {
  lifted?: { by: string; at: string; reason?: string };
};

/** Every freeze declared, newest first, lifted ones included. */
export async function declaredFreezes(store: EventStore): Promise<DeclaredFreeze[]> {
  const freezes = new Map<string, DeclaredFreeze>();
  for (const e of await store.list(ACTIONS_LOG)) {
    if (e.kind === "freeze.declared") {
      const f = e.data as unknown as DeclaredFreeze;
      freezes.set(f.id, { ...f });
    } else if (e.kind === "freeze.lifted") {
      const f = freezes.get(String(e.data.id));
      if (f) {
        f.lifted = {
          by: String(e.data.by),
          at: e.at,
          ...(e.data.reason ? { reason: String(e.data.reason) } : {}),
        };
      }
    }
  }
  return [...freezes.values()].reverse();
}

/** The freezes that hold `service` in `environment` at `at` or later (not lifted, not yet over), as the window check reads them. */
export async function activeFreezes(
  store: EventStore,
  environment: string,
  service: string,
  at: number,
): Promise<Array<{ from: string; until: string; reason: string }>> {
  return (await declaredFreezes(store))
    .filter(
      (f) =>
        !f.lifted &&
        f.environment === environment &&
        (f.service === undefined || f.service === service) &&
        Date.parse(f.until) > at,
    )
    .map((f) => ({
      from: f.from,
      until: f.until,
      reason: `${f.reason} — declared by ${f.by}, freeze ${f.id}`,
    }));
}
