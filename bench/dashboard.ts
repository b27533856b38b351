/**
 * Dashboard figure for `npm run bench`: a run of 1,000 events (its steps, 440 monitoring
 * samples of two signals with their verdicts), written straight into a Postgres that
 * `gantry server` serves (GANTRY_DATABASE_URL); Debian's Chromium (playwright-core) opens the
 * run's page, signed in. Time to first render: from the navigation to the moment the page
 * shows the run's steps and its error-rate chart, median of 5 loads.
 *
 * Alone: `npm run build && node dist/bench/dashboard.js`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { chromium } from "playwright-core";
import { endPool, migrate } from "../src/store/database.js";
import { EventStore } from "../src/store/events.js";
import { startPostgres } from "../test/helpers/postgres-server.js";
import type { Row } from "./engine.js";
import { BIN } from "./workspace.js";

const CHROMIUM = process.env.GANTRY_CHROMIUM ?? "/usr/bin/chromium";
const RUN = "bench-dashboard-1000";
const LOADS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** 1,000 events of a run that deployed, monitored for a while and rolled back. */
async function writeRun(store: EventStore): Promise<number> {
  const t0 = Date.now() - 600_000;
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  let n = 0;
  const add = async (key: string, kind: string, data: Record<string, unknown>, step?: string) => {
    n++;
    await store.append(RUN, { key, kind, data, ...(step ? { step } : {}) } as never);
  };
  const steps = ["gate:syntax", "deploy", "smoke:health", "checkpoint:T+5m"];
  await add("created", "run.created", {
    runbook: "bench",
    service: "bench",
    environment: "local",
    ref: "v2.0.0",
    version: "2.0.0",
    file: "runbook.yaml",
    operator: "bench",
    authenticated: true,
    roles: {},
    queued: false,
    steps: steps.map((id) => ({ id, kind: id.split(":")[0], title: id, phase: id.split(":")[0] })),
  });
  await add("started", "run.started", { previousVersion: "1.0.0" });
  for (const id of steps.slice(0, 3)) {
    await add(`${id}:started`, "step.started", { phase: id.split(":")[0], kind: id, title: id }, id);
    await add(`${id}:finished`, "step.finished", { status: "passed", message: "ok" }, id);
  }
  await add("monitor:started", "monitor.started", {
    t: at(0),
    endsAt: at(600_000),
    interval: "1s",
    rules: [
      {
        name: "errors",
        subject: "error_rate",
        op: ">",
        threshold: 0.05,
        for: "3s",
        forMs: 3000,
        severity: "P0",
      },
    ],
    checkpoints: [{ name: "T+5m", at: at(300_000) }],
  });
  for (let k = 0; n < 1000; k++) {
    for (const signal of ["error_rate", "latency_p95"]) {
      if (n >= 1000) break;
      const value = signal === "error_rate" ? 0.01 + (k % 7) / 1000 : 0.12 + (k % 5) / 100;
      await add(`m:${k}:${signal}`, "measurement", {
        signal,
        sample: k,
        phase: "ok",
        value,
        message: String(value),
        at: at(k * 1000),
      });
    }
    if (n < 1000 && k % 10 === 0)
      await add(`v:${k}:errors`, "verdict", {
        rule: "errors",
        state: "ok",
        sample: k,
        subject: "error_rate",
      });
  }
  return n;
}

export async function dashboardRows(): Promise<Row[]> {
  if (!fs.existsSync(CHROMIUM))
    return [
      ["dashboard run page, first render (1,000 events)", "not measured: no Chromium", "≤ 500 ms", "—"],
    ];
  const server = await startPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on("error", () => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-dash-"));
  const env = { ...process.env, GANTRY_DATABASE_URL: server.url, XDG_CONFIG_HOME: dir };
  let gantry: ReturnType<typeof spawn> | undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    await migrate(pool);
    const events = await writeRun(new EventStore(pool));
    const added = spawn(process.execPath, [BIN, "users", "add", "bench", "--json"], { cwd: dir, env });
    let out = "";
    added.stdout.on("data", (d) => (out += d));
    await new Promise((resolve) => added.on("close", resolve));
    const token = String((JSON.parse(out) as { token: string }).token);
    gantry = spawn(process.execPath, [BIN, "server", "--port", "0"], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    gantry.stdout!.on("data", (d) => (output += d));
    for (let i = 0; i < 300 && !/listening on (http:\/\/\S+)/.test(output); i++) await sleep(100);
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (!url) throw new Error(`gantry server did not start: ${output}`);

    const times: number[] = [];
    for (let i = 0; i < LOADS + 1; i++) {
      const page = await browser.newPage();
      // Signed in already: the token is in this tab's session storage, as after a sign-in.
      await page.addInitScript((t) => sessionStorage.setItem("gantry-token", t), token);
      const start = performance.now();
      await page.goto(`${url}/#/runs/${RUN}`);
      await page.waitForSelector("#steps li[data-step]");
      await page.waitForSelector(".chart[data-signal=error_rate] canvas");
      if (i > 0) times.push(performance.now() - start); // the first load warms the server and the browser
      await page.close();
    }
    return [
      [
        `dashboard run page, first render with ${events} events (Chromium, median of ${LOADS})`,
        `${median(times).toFixed(0)} ms (max ${Math.max(...times).toFixed(0)})`,
        "≤ 500 ms",
        "node dist/bench/dashboard.js",
      ],
    ];
  } finally {
    await browser.close();
    gantry?.kill("SIGTERM");
    await endPool(pool, 2000).catch(() => undefined);
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const [what, value, goal, command] of await dashboardRows())
    process.stdout.write(`${what}: ${value} (goal ${goal})  $ ${command}\n`);
}
