/**
 * Report figures for `npm run bench`: `gantry report` of a 10,000-event run, as a whole
 * process (start, read the log from Postgres, build the record, render), and the record and
 * the HTML page alone, in process. The run is synthetic but shaped like a long release: gates
 * with their output, a deploy, smoke tests, two signals sampled 3,000 times each with their
 * verdicts, checkpoints, a rollback and messages. It is written in bulk to an embedded Postgres
 * (rows without the hash chain, as an earlier Gantry wrote them: reading does not check it).
 *
 * Alone: `npm run build && node dist/bench/reports.js`.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { buildRecord } from "../src/reports/build.js";
import { renderHtml } from "../src/reports/html.js";
import { endPool, migrate } from "../src/store/database.js";
import { EventStore } from "../src/store/events.js";
import { startPostgres } from "../test/helpers/postgres-server.js";
import type { Row } from "./engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RUN = "bench-report-2.0.0-000001";
const EVENTS = 10_000;
const T0 = Date.parse("2026-03-03T10:00:00.000Z");

interface Synthetic {
  key: string;
  at: string;
  kind: string;
  step: string | null;
  data: Record<string, unknown>;
}

/** A long release of EVENTS events, in the order a run writes them. */
function syntheticRun(): Synthetic[] {
  const out: Synthetic[] = [];
  const ev = (ms: number, kind: string, data: Record<string, unknown>, step: string | null = null) =>
    out.push({ key: `e${out.length}`, at: new Date(T0 + ms).toISOString(), kind, step, data });
  const gates = Array.from({ length: 10 }, (_, i) => `gate:g${i}`);
  const checkpoints = Array.from({ length: 10 }, (_, i) => `checkpoint:T+${(i + 1) * 5}m`);
  ev(0, "run.created", {
    runbook: "bench",
    service: "bench",
    environment: "production",
    ref: "v2.0.0",
    version: "2.0.0",
    file: "runbook.yaml",
    operator: "bench",
    queued: false,
    steps: [
      ...gates.map((id) => ({ id, kind: "gate", title: id.slice(5), phase: "gates" })),
      { id: "deploy", kind: "deploy", title: "deploy 2.0.0", phase: "deploy" },
      { id: "smoke:health", kind: "smoke", title: "health", phase: "smoke" },
      ...checkpoints.map((id) => ({ id, kind: "checkpoint", title: id.replace(":", " "), phase: "monitor" })),
    ],
  });
  ev(1, "run.started", { version: "2.0.0", previousVersion: "1.9.0" });
  gates.forEach((id, g) => {
    ev(10 + g * 1000, "step.started", { kind: "gate", phase: "gates", title: id }, id);
    for (let l = 0; l < 250; l++)
      ev(10 + g * 1000 + l, "output", { line: `test ${l} passed: orders and refunds` }, id);
    ev(900 + g * 1000, "step.finished", { status: "passed", message: "exit 0 in 890 ms" }, id);
  });
  ev(20_000, "step.started", { kind: "deploy", phase: "deploy", title: "deploy 2.0.0" }, "deploy");
  ev(30_000, "step.finished", { status: "passed", message: "deployed 2.0.0" }, "deploy");
  ev(30_100, "step.started", { kind: "smoke", phase: "smoke", title: "health" }, "smoke:health");
  ev(30_200, "step.finished", { status: "passed", message: "GET /health → 200" }, "smoke:health");
  const t = 30_200;
  ev(t, "monitor.started", {
    t: new Date(T0 + t).toISOString(),
    endsAt: new Date(T0 + t + 3_000_000).toISOString(),
    interval: "1s",
    rules: [
      {
        name: "errors",
        when: "error_rate > 0.05",
        subject: "error_rate",
        op: ">",
        threshold: 0.05,
        forMs: 60_000,
        severity: "P0",
        watch: false,
      },
      {
        name: "slow",
        when: "p95 > 800ms",
        subject: "p95",
        op: ">",
        threshold: 800,
        forMs: 120_000,
        severity: "P1",
        watch: false,
      },
    ],
  });
  let k = 0;
  while (out.length < EVENTS - 60) {
    const at = t + 1000 + k * 1000;
    const rate = k > 2900 ? 0.2 : 0.01 + (k % 7) / 1000;
    ev(at, "measurement", {
      signal: "error_rate",
      sample: k,
      phase: "successful",
      value: rate,
      message: "ratio",
      at: new Date(T0 + at).toISOString(),
    });
    ev(at + 1, "measurement", {
      signal: "p95",
      sample: k,
      phase: "successful",
      value: 300 + (k % 50),
      message: "p95",
      at: new Date(T0 + at).toISOString(),
    });
    if (k % 10 === 0)
      ev(at + 2, "verdict", {
        rule: "slow",
        state: "pending",
        sample: k,
        subject: "p95",
        value: 300,
        explanation: "p95 300 > 800ms for 0s of 2m (P1)",
        watch: false,
      });
    const cp = checkpoints[Math.floor(k / 300)];
    if (k % 300 === 0 && cp)
      ev(at + 3, "step.started", { kind: "checkpoint", phase: "monitor", title: cp }, cp);
    if (k % 300 === 299 && cp)
      ev(at + 4, "step.finished", { status: "passed", message: `error_rate ${rate}` }, cp);
    k++;
  }
  const end = t + 1000 + k * 1000;
  ev(end, "verdict", {
    rule: "errors",
    state: "fired",
    sample: k,
    subject: "error_rate",
    value: 0.2,
    severity: "P0",
    action: "rollback",
    watch: false,
    reason: "error_rate 0.2 > 0.05 for 1m (P0)",
  });
  ev(end + 10, "rollback.started", {
    reason: "error_rate 0.2 > 0.05 for 1m (P0)",
    to: "1.9.0",
    detectedAt: new Date(T0 + end).toISOString(),
    detectionLatencyMs: 40,
  });
  ev(end + 20, "step.started", { kind: "rollback", phase: "rollback", title: "revert" }, "rollback:1");
  ev(end + 900, "step.finished", { status: "passed", message: "rolled back to 1.9.0" }, "rollback:1");
  ev(end + 950, "rollback.finished", {
    ok: true,
    problems: [],
    detectToDoneMs: 950,
    targetMs: 30_000,
    withinTarget: true,
  });
  ev(end + 960, "run.finished", {
    run: RUN,
    outcome: "rolled_back",
    reason: "error_rate 0.2 > 0.05 for 1m (P0) → rolled back to 1.9.0",
    version: "2.0.0",
    previousVersion: "1.9.0",
  });
  while (out.length < EVENTS) {
    const n = out.length;
    ev(end + 1000 + n, "notify.queued", {
      message: `m${n}`,
      channel: "slack",
      event: "release.progress",
      template: "progress",
      text: `progress ${n}`,
      required: false,
    });
    ev(end + 1001 + n, "notify.sent", {
      message: `m${n}`,
      channel: "slack",
      event: "release.progress",
      template: "progress",
      attempt: 1,
      id: `${n}.1`,
      detail: "ok",
      excerpt: "",
    });
  }
  return out.slice(0, EVENTS);
}

/** Writes the run in batches of 2,000 rows. */
async function writeRun(pool: pg.Pool, events: Synthetic[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    await pool.query(
      `INSERT INTO gantry.events (run_id, key, at, kind, step, data)
       SELECT $1, r.key, r.at, r.kind, r.step, r.data
         FROM jsonb_to_recordset($2::jsonb) AS r(key text, at timestamptz, kind text, step text, data jsonb)`,
      [RUN, JSON.stringify(events.slice(i, i + 2000))],
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function reportRows(): Promise<Row[]> {
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on("error", () => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-report-"));
  try {
    await migrate(pool);
    await writeRun(pool, syntheticRun());
    const events = await new EventStore(pool).list(RUN);
    const inProcess: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      renderHtml(buildRecord(events)!);
      inProcess.push(performance.now() - start);
    }
    const walls: Record<string, number> = {};
    // `none`: a run that does not exist, the floor: node, the bundle and the database connection.
    for (const format of ["html", "md", "junit", "none"]) {
      const run = format === "none" ? "no-such-run" : RUN;
      const args = ["report", run, "--format", format === "none" ? "md" : format];
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        const r = spawnSync(
          process.execPath,
          [path.join(ROOT, "bin/gantry.js"), ...args, "--out", path.join(dir, `report.${format}`)],
          {
            cwd: dir,
            env: {
              ...process.env,
              GANTRY_DATABASE_URL: server.url,
              GANTRY_DATA_DIR: path.join(dir, ".gantry"),
            },
            encoding: "utf8",
          },
        );
        times.push(performance.now() - start);
        if (r.status !== (format === "none" ? 2 : 0))
          throw new Error(`gantry ${args.join(" ")} ended with exit ${r.status}: ${r.stderr}`);
      }
      walls[format] = median(times);
    }
    const command = "node dist/bench/reports.js";
    return [
      [
        `gantry report of a ${events.length.toLocaleString("en")}-event run, --format html (whole process, median of 5)`,
        `${walls.html!.toFixed(0)} ms (md ${walls.md!.toFixed(0)} ms, junit ${walls.junit!.toFixed(0)} ms; of an unknown run ${walls.none!.toFixed(0)} ms)`,
        "≤ 1 s",
        command,
      ],
      [
        "  the same: release record + HTML page in process, from the events read (median of 5)",
        `${median(inProcess).toFixed(0)} ms`,
        "printed",
        command,
      ],
    ];
  } finally {
    await endPool(pool, 2000);
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [what, value, goal, command] of await reportRows()) {
    process.stdout.write(`${what}\n  ${value}   goal ${goal}   $ ${command}\n`);
  }
}
