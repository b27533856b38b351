/**
 * Requests for a manual rollback (`gantry rollback RUN`). One is enough unless the runbook
 * says `rollback.approval.count`: then each different person's request is recorded
 * (rollback.requested) and the rollback starts with the last one needed. The requests are
 * built from the run's received messages, which DBOS replays in order after a crash.
 */
import type { RunDurable } from "./durable.js";

export class RollbackRequests {
  private readonly asks = new Map<string, string>();

  constructor(
    private readonly needed: number,
    private readonly durable: RunDurable,
  ) {}

  /** Records `by`'s request; once enough people have asked, who they are and why. */
  async ask(by: string, reason: string): Promise<{ who: string; reason: string } | undefined> {
    if (this.needed <= 1) return { who: by, reason };
    if (this.asks.has(by)) return undefined;
    this.asks.set(by, reason);
    await this.durable.event({
      key: `rollback:request:${by}`,
      kind: "rollback.requested",
      data: { by, reason, count: this.asks.size, needed: this.needed },
    });
    if (this.asks.size < this.needed) return undefined;
    return { who: [...this.asks.keys()].join(" and "), reason: [...new Set(this.asks.values())].join("; ") };
  }
}
