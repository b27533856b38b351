/**
 * Canary figures for `npm run bench`:
 * - the weighted proxy's added latency on loopback: the quickstart service as its own process,
 *   5,000 sequential keep-alive GETs straight to it and 5,000 through the proxy (its own
 *   process, as local-process runs it); p50 and p99 of each, the difference per percentile;
 * - a canary's abort: local-process with a canary at 10% behind the proxy, the rollback call
 *   until every request answers from the stable version (polled every 5 ms). The engine adds
 *   up to one sampling interval to see a breach before it calls the rollback.
 *
 * Alone: `npm run build && node dist/bench/canary.js`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort } from "../src/exec/port.js";
import { createProvider } from "../src/providers/index.js";
import { SERVICE_PATH, testDatabase, testOptions } from "../src/providers/test-support.js";
import { Deploy } from "../src/runbook/schema/flow.js";
import type { Row } from "./engine.js";

const PROXY = fileURLToPath(new URL("../src/providers/weighted-proxy.js", import.meta.url));
const N = 5000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function timedGets(port: number, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const one = () => {
      const start = performance.now();
      http
        .get({ host: "127.0.0.1", port, path: "/health", agent }, (res) => {
          res.resume();
          res.on("end", () => {
            times.push(performance.now() - start);
            if (times.length < n) one();
            else {
              agent.destroy();
              resolve(times);
            }
          });
        })
        .on("error", reject);
    };
    one();
  });
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) =>
      http
        .get({ host: "127.0.0.1", port, path: "/health" }, (r) => resolve(r.statusCode === 200))
        .on("error", () => resolve(false)),
    );
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing answers on ${port}`);
}

async function proxyLatency(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-proxy-"));
  const servicePort = await freePort();
  const proxyPort = await freePort();
  const env = { ...process.env, PORT: String(servicePort), VERSION: "1.0.0", QUICKSTART_TRAFFIC: "0" };
  const service = spawn(process.execPath, [SERVICE_PATH], { env, stdio: "ignore" });
  const routes = join(dir, "routes.json");
  writeFileSync(
    routes,
    JSON.stringify({ port: proxyPort, targets: [{ port: servicePort, weight: 1, version: "1.0.0" }] }),
  );
  const proxy = spawn(process.execPath, [PROXY, routes], { stdio: "ignore" });
  try {
    await waitUp(servicePort);
    await waitUp(proxyPort);
    await timedGets(servicePort, 500);
    await timedGets(proxyPort, 500);
    const direct = await timedGets(servicePort, N);
    const proxied = await timedGets(proxyPort, N);
    const added = (p: number) => percentile(proxied, p) - percentile(direct, p);
    const command = "npm run build && node dist/bench/canary.js";
    return [
      [
        `weighted proxy added latency p50 (loopback, ${N} keep-alive GETs each way)`,
        `${added(0.5).toFixed(3)} ms`,
        "≤ 0.5 ms",
        command,
      ],
      [
        `weighted proxy added latency p99 (direct p99 ${percentile(direct, 0.99).toFixed(3)} ms)`,
        `${added(0.99).toFixed(3)} ms`,
        "≤ 2 ms",
        command,
      ],
    ];
  } finally {
    service.kill();
    proxy.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function abortTime(): Promise<Row[]> {
  const db = await testDatabase();
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-canary-"));
  const port = await freePort();
  const spec = Deploy.parse({
    provider: "local-process",
    start: `node ${SERVICE_PATH}`,
    port,
    timeout: "10s",
  });
  const provider = createProvider(spec, testOptions(db.pool, dir, { env: { QUICKSTART_TRAFFIC: "0" } }))!;
  try {
    const request = (version: string, key: string) => ({ version, key, timeoutMs: 10_000 });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const stable = `1.0.${i}`;
      if (!(await provider.deploy(request(stable, `b-${i}:base`))).ok) throw new Error("base deploy failed");
      const started = await provider.deploy({ ...request(`1.1.${i}`, `b-${i}:deploy`), weight: 0.1 });
      if (!started.ok) throw new Error(started.message);
      const t0 = performance.now();
      const back = provider.rollback(request(stable, `b-${i}:rollback`));
      // Every request from the stable version: 20 in a row, when at 10% every 10th went to the canary.
      let streak = 0;
      let at = 0;
      while (streak < 20) {
        const version = await new Promise<string>((resolve) =>
          http
            .get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
              let body = "";
              res.on("data", (d) => (body += d));
              res.on("end", () => resolve(body.includes(`"${stable}"`) ? stable : "other"));
            })
            .on("error", () => resolve("none")),
        );
        if (version === stable) streak++;
        else streak = 0;
        // An upper bound: the 20th stable answer in a row (the round robin sends every 10th to the canary before).
        if (streak === 20) at = performance.now();
        if (streak === 0) await sleep(5);
      }
      times.push(at - t0);
      await back;
    }
    const sorted = [...times].sort((a, b) => a - b);
    return [
      [
        "canary abort: rollback call → every request on the stable version (local-process, median of 5)",
        `${sorted[2]!.toFixed(0)} ms`,
        "≤ 500 ms (after ≤ 1 sampling interval to see the breach)",
        "npm run build && node dist/bench/canary.js",
      ],
    ];
  } finally {
    await provider.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function canaryRows(): Promise<Row[]> {
  return [...(await proxyLatency()), ...(await abortTime())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const row of await canaryRows()) console.log(row.join("  |  "));
  process.exit(0);
}
