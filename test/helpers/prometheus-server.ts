/**
 * A real Prometheus server for tests: Debian's `prometheus` binary on 127.0.0.1 and a free
 * port, scraping the given targets every second, its data in a temporary folder removed at
 * stop(). PROMETHEUS_BIN overrides the binary's path. Also a service for it to scrape.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/exec/port.js";
import { listen } from "../../src/probes/test-support.js";

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234. */
  url: string;
  /** An instant query's `data.result` (throws on an API error). */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /**
   * Waits until an instant query returns at least one series whose value passes `until`
   * (default: any value), and returns that value. Throws after `timeoutMs`.
   */
  waitForSample(promql: string, until?: (value: number) => boolean, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of each service to scrape (its /metrics), all under job "app". */
  targets: string[];
  /** A fixed port (default: a free one). */
  port?: number;
  /** A folder for its configuration and data, kept at stop (default: a temporary one, removed). */
  dir?: string;
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  if (!fs.existsSync(PROMETHEUS_BIN)) {
    throw new Error(
      `prometheus is not installed at ${PROMETHEUS_BIN} (PROMETHEUS_BIN sets another path): the test command installs prometheus; run npm test`,
    );
  }
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "gantry-prometheus-"));
  fs.mkdirSync(dir, { recursive: true });
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    "  - job_name: app",
    "    static_configs:",
    `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "prometheus.yml"), config);
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
      "--storage.tsdb.retention.time=1h",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.removeListener("exit", killOnExit);
    await terminate(child);
    if (!options.dir) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }

  const query: PrometheusServer["query"] = async (promql) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.json()) as { status: string; data?: { result?: unknown }; error?: string };
    if (body.status !== "success") throw new Error(`prometheus query ${promql}: ${body.error}`);
    return (body.data?.result ?? []) as Awaited<ReturnType<PrometheusServer["query"]>>;
  };

  const waitForSample: PrometheusServer["waitForSample"] = async (
    promql,
    until = () => true,
    timeoutMs = 30_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      try {
        const result = await query(promql);
        last = JSON.stringify(result);
        const value = result.length ? Number(result[0]!.value[1]) : undefined;
        if (value !== undefined && until(value)) return value;
      } catch (err) {
        last = String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`prometheus: no sample for ${promql} after ${timeoutMs}ms (last answer: ${last})`);
  };

  return { url, query, waitForSample, stop };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${stderr().trim()}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus at ${url} not ready after 30s: ${stderr().trim()}`);
}

/** SIGTERM, then SIGKILL if it has not exited within 5 seconds. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export interface MetricsService {
  /** host:port, for the scrape config. */
  target: string;
  /** Sets one series, e.g. set("app_requests_total", 12, { code: "500" }). */
  set(name: string, value: number, labels?: Record<string, string>): void;
}

/**
 * A service exposing Prometheus text at /metrics on 127.0.0.1 and a free port, its series set
 * by the test; closed by `cleanup`.
 */
export async function serveMetrics(cleanup: (stop: () => unknown) => void): Promise<MetricsService> {
  const series = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  const server = http.createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    const lines = [...series.values()].map(({ name, labels, value }) => {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`;
    });
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(`${lines.join("\n")}\n`);
  });
  const port = await listen(server, cleanup);
  return {
    target: `127.0.0.1:${port}`,
    set(name, value, labels = {}) {
      series.set(`${name}${JSON.stringify(Object.entries(labels).sort())}`, { name, labels, value });
    },
  };
}
