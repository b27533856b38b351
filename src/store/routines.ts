/**
 * What routines did (gantry.routine_runs, gantry.routine_alerts): one row per occurrence of a
 * routine, written once whoever runs it (a worker, a restarted worker, `gantry routines run`),
 * and one row per alert a channel accepted, so an occurrence alerts each channel once.
 */
import type pg from "pg";

/** One check's result as recorded: already masked (no secret value in it). */
export interface RecordedCheck {
  name: string;
  type: string;
  threshold: string;
  phase: string;
  value: unknown;
  message: string;
}

export interface RoutineRun {
  service: string;
  routine: string;
  /** The scheduled time of the occurrence (or the moment a manual run was asked for), ISO. */
  occurrence: string;
  trigger: "schedule" | "manual";
  environment: string;
  passed: boolean;
  results: RecordedCheck[];
  startedAt: string;
  finishedAt: string;
}

export type AlertKind = "failure" | "recovery";

export class RoutineStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Records a run unless this occurrence has one; returns the one that stands. */
  async record(run: Omit<RoutineRun, "finishedAt">): Promise<RoutineRun> {
    await this.pool.query(
      `INSERT INTO gantry.routine_runs
         (service, routine, occurrence, trigger, environment, passed, results, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (service, routine, occurrence) DO NOTHING`,
      [
        run.service,
        run.routine,
        run.occurrence,
        run.trigger,
        run.environment,
        run.passed,
        JSON.stringify(run.results),
        run.startedAt,
      ],
    );
    return (await this.get(run.service, run.routine, run.occurrence))!;
  }

  async get(service: string, routine: string, occurrence: string): Promise<RoutineRun | undefined> {
    const { rows } = await this.pool.query(
      `${SELECT} WHERE service = $1 AND routine = $2 AND occurrence = $3`,
      [service, routine, occurrence],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The run of the occurrence before `occurrence`, if any (for recovery messages). */
  async before(service: string, routine: string, occurrence: string): Promise<RoutineRun | undefined> {
    const { rows } = await this.pool.query(
      `${SELECT} WHERE service = $1 AND routine = $2 AND occurrence < $3 ORDER BY occurrence DESC LIMIT 1`,
      [service, routine, occurrence],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The latest runs, newest first: of one routine, or of every routine of the service. */
  async history(service: string, routine: string | undefined, limit: number): Promise<RoutineRun[]> {
    const { rows } = await this.pool.query(
      `${SELECT} WHERE service = $1 AND ($2::text IS NULL OR routine = $2)
       ORDER BY occurrence DESC LIMIT $3`,
      [service, routine ?? null, limit],
    );
    return rows.map(fromRow);
  }

  /** Whether this occurrence's alert went out on `channel` already. */
  async alerted(service: string, routine: string, occurrence: string, channel: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM gantry.routine_alerts
       WHERE service = $1 AND routine = $2 AND occurrence = $3 AND channel = $4`,
      [service, routine, occurrence, channel],
    );
    return (rowCount ?? 0) > 0;
  }

  async markAlerted(
    at: { service: string; routine: string; occurrence: string; channel: string },
    kind: AlertKind,
    key: string,
    detail: string,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO gantry.routine_alerts (service, routine, occurrence, channel, kind, key, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [at.service, at.routine, at.occurrence, at.channel, kind, key, detail],
    );
  }

  /** The alerts delivered for one occurrence: channel, kind and what the channel said. */
  async alerts(
    service: string,
    routine: string,
    occurrence: string,
  ): Promise<Array<{ channel: string; kind: AlertKind; detail: string }>> {
    const { rows } = await this.pool.query(
      `SELECT channel, kind, detail FROM gantry.routine_alerts
       WHERE service = $1 AND routine = $2 AND occurrence = $3 ORDER BY sent_at`,
      [service, routine, occurrence],
    );
    return rows as Array<{ channel: string; kind: AlertKind; detail: string }>;
  }
}

const SELECT = `SELECT service, routine, occurrence, trigger, environment, passed, results, started_at, finished_at
  FROM gantry.routine_runs`;

function fromRow(r: Record<string, unknown>): RoutineRun {
  return {
    service: String(r.service),
    routine: String(r.routine),
    occurrence: (r.occurrence as Date).toISOString(),
    trigger: r.trigger === "manual" ? "manual" : "schedule",
    environment: String(r.environment),
    passed: Boolean(r.passed),
    results: r.results as RecordedCheck[],
    startedAt: (r.started_at as Date).toISOString(),
    finishedAt: (r.finished_at as Date).toISOString(),
  };
}
