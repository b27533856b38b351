/**
 * Live events for many listeners on one Postgres connection: one LISTEN on the event
 * channel (written by any process on the database), and for each run followed, one read of
 * the new rows per notification, handed to every listener of that run in order. A listener
 * joins at any point (`after`: the last seq it has) and gets what it missed first.
 */
import pg from "pg";
import { EVENTS_CHANNEL, type EventStore, type RunEvent } from "../store/events.js";

type Listener = { after: number; send: (events: RunEvent[]) => void };

interface Followed {
  listeners: Set<Listener>;
  reading: boolean;
  again: boolean;
}

export class EventHub {
  private readonly runs = new Map<string, Followed>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly connectionString: string,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("error", () => undefined);
    client.on("notification", (n) => {
      if (n.channel !== EVENTS_CHANNEL || !n.payload) return;
      const runId = n.payload.slice(n.payload.indexOf(" ") + 1);
      if (this.runs.has(runId)) void this.pump(runId);
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.client = client;
    // A periodic look too: a notification is lost when the connection drops.
    this.timer = setInterval(() => {
      for (const runId of this.runs.keys()) void this.pump(runId);
    }, 5000);
    this.timer.unref();
  }

  /** Sends `runId`'s events after `after`, then the new ones as they come (in batches, in order), until the returned function is called. */
  follow(runId: string, after: number, send: (events: RunEvent[]) => void): () => void {
    let run = this.runs.get(runId);
    if (!run) {
      run = { listeners: new Set(), reading: false, again: false };
      this.runs.set(runId, run);
    }
    const listener: Listener = { after, send };
    run.listeners.add(listener);
    void this.pump(runId);
    return () => {
      const r = this.runs.get(runId);
      r?.listeners.delete(listener);
      if (r && r.listeners.size === 0) this.runs.delete(runId);
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.runs.clear();
    await this.client?.end().catch(() => undefined);
  }

  /** One read for every listener of the run, from the earliest seq one of them lacks. */
  private async pump(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) return;
    if (run.reading) {
      run.again = true;
      return;
    }
    run.reading = true;
    try {
      do {
        run.again = false;
        const listeners = [...run.listeners];
        if (listeners.length === 0) break;
        const from = Math.min(...listeners.map((l) => l.after));
        const events = await this.store.list(runId, from);
        for (const l of listeners) {
          const fresh = events.filter((e) => e.seq > l.after);
          if (fresh.length === 0) continue;
          l.after = fresh.at(-1)!.seq;
          l.send(fresh);
        }
      } while (run.again);
    } catch {
      // The next notification or the periodic look reads again.
    } finally {
      run.reading = false;
    }
  }
}
