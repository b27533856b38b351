/**
 * Engine figures for `npm run bench`: embedded Postgres start, engine overhead per durable
 * step, detection latency, and the quickstart's deploy-to-rollback time (restart after kill -9
 * is bench/restart.ts). Each is measured on this machine with the real binary and printed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { openEmbedded, stopServer } from "../src/store/embedded.js";
import { workspace } from "./workspace.js";

export type Row = [string, string, string, string];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function engineRows(): Promise<Row[]> {
  const rows: Row[] = [];

  // Embedded Postgres: first use (initdb + create database + start), then a warm start.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-pg-"));
  fs.chmodSync(dir, 0o755);
  let t = performance.now();
  const cold = await openEmbedded(dir);
  const coldMs = performance.now() - t;
  await cold.release();
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    const s = await openEmbedded(dir);
    warm.push(performance.now() - t);
    await s.release();
  }
  await stopServer(path.join(dir, "postgres"));
  fs.rmSync(dir, { recursive: true, force: true });
  rows.push([
    "embedded Postgres, cold start (first use: initdb, create, start)",
    `${coldMs.toFixed(0)} ms`,
    "printed",
    "npm run bench",
  ]);
  rows.push([
    "embedded Postgres, warm start (median of 5)",
    `${median(warm).toFixed(0)} ms`,
    "printed",
    "npm run bench",
  ]);

  // Engine overhead per durable step: 1,000 gates running `true`, one after another.
  const gates = Array.from({ length: 1000 }, (_, i) => `  - { name: g${i}, run: "true", timeout: 10s }`).join(
    "\n",
  );
  const many = await workspace({
    previous: "1.0.0",
    edit: [
      [/gates:\n(?: {2}.*\n)+\n/, `gates:\n${gates}\n\n`],
      [/\nmonitor:[\s\S]*?\nrollback:/, "\nrollback:"],
    ],
  });
  try {
    const r = await many.gantry(
      ["release", many.runbook, "--env", "local", "--ref", "v3.0.0", "--json"],
      {},
      600_000,
    );
    if (r.code !== 0) throw new Error(`1000-gate release: exit ${r.code}: ${r.stderr.slice(-500)}`);
    const events = await many.log(String(r.json!.run));
    const ends = events.filter((e) => e.kind === "step.finished" && e.step?.startsWith("gate:"));
    const overhead: number[] = [];
    for (let i = 1; i < ends.length; i++) {
      const gap = Date.parse(ends[i]!.at) - Date.parse(ends[i - 1]!.at);
      overhead.push(gap - Number(ends[i]!.data.durationMs ?? 0));
    }
    rows.push([
      `1,000-gate release through the binary: time per gate beyond its command (median over ${ends.length} step gaps)`,
      `${median(overhead).toFixed(1)} ms`,
      "printed",
      "npm run bench",
    ]);
  } finally {
    await many.cleanup();
  }

  // Quickstart v2 with its real timings: detection latency and deploy → rollback complete.
  const qs = await workspace({
    previous: "1.0.0",
    edit: [
      ["checkpoints: [T+2s, T+8s]", "checkpoints: [T+5s, T+10s, T+15s]"],
      ["for: 2s", "for: 3s"],
    ],
  });
  try {
    const r = await qs.gantry(["release", qs.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      DEFECT_AFTER_MS: "4000",
    });
    const rb = r.json?.rollback as { detectionLatencyMs?: number } | undefined;
    const events = await qs.log(String(r.json!.run));
    const deployed = events.find((e) => e.kind === "step.finished" && e.step === "deploy")!;
    const rolled = events.find((e) => e.kind === "rollback.finished")!;
    rows.push([
      "detection latency: rule window elapsed → rollback start (quickstart v2, interval 1s)",
      `${rb?.detectionLatencyMs ?? "?"} ms`,
      "≤ 1 interval + 250 ms = 1250 ms",
      "npm run bench",
    ]);
    rows.push([
      "quickstart: deploy of v2 → rollback complete",
      `${((Date.parse(rolled.at) - Date.parse(deployed.at)) / 1000).toFixed(1)} s`,
      "printed",
      "npm run quickstart",
    ]);
  } finally {
    await qs.cleanup();
  }

  return rows;
}
