/**
 * HTTP API figures for `npm run bench`, through the real binary: `gantry server` on
 * 127.0.0.1 and a quickstart release (v3) run by another gantry process on the same
 * database. An SSE client follows the run; for each event that arrives live (not in the
 * first read of what was already written), the time from its row's timestamp (Postgres's
 * clock) to its arrival at the client (this process's clock: the same machine).
 *
 * Alone: `npm run build && node dist/bench/server.js`.
 */
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { Row } from "./engine.js";
import { BIN, workspace } from "./workspace.js";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function serverRows(): Promise<Row[]> {
  const w = await workspace({ previous: "1.0.0" });
  const home = { XDG_CONFIG_HOME: w.dir };
  let server: ReturnType<typeof spawn> | undefined;
  try {
    // The server needs an identity: every request carries a token.
    const added = await w.gantry(["users", "add", "bench", "--json"], home);
    if (added.code !== 0) throw new Error(`users add: ${added.stderr}`);
    const token = String(added.json?.token);
    server = spawn(process.execPath, [BIN, "server", "--port", "0", "--data-dir", w.dataDir], {
      cwd: w.dir,
      env: { ...process.env, ...home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    server.stdout!.on("data", (d) => (output += d));
    server.stderr!.on("data", (d) => (output += d));
    for (let i = 0; i < 300 && !/listening on (http:\/\/\S+)/.test(output); i++) await sleep(100);
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (!url) throw new Error(`gantry server did not start: ${output}`);
    const auth = { authorization: `Bearer ${token}` };

    const release = w.gantry(["release", w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], {
      GANTRY_TOKEN: token,
      XDG_CONFIG_HOME: w.dir,
    });
    let run: string | undefined;
    for (let i = 0; i < 300 && !run; i++) {
      const list = (await (await fetch(`${url}/api/runs`, { headers: auth })).json()) as Array<{
        id: string;
      }>;
      run = list[0]?.id;
      if (!run) await sleep(20);
    }
    if (!run) throw new Error("the release did not start");
    const latencies: number[] = [];
    const response = await fetch(`${url}/api/runs/${run}/stream`, { headers: auth });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let first = true;
    for (let ended = false; !ended; ) {
      const { value, done } = await reader.read();
      if (done) break;
      const arrived = Date.now();
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) {
          const e = JSON.parse(data) as { at: string; kind: string };
          if (!first) latencies.push(arrived - Date.parse(e.at));
          if (e.kind === "run.finished") ended = true;
        }
        end = buffer.indexOf("\n\n");
      }
      // The first chunk holds what was written before the stream opened.
      if (value.includes("\ndata: ")) first = false;
    }
    await reader.cancel().catch(() => undefined);
    await release;
    return [
      [
        `event written → seen by an SSE client (gantry server, median of ${latencies.length} events of a quickstart release)`,
        `${median(latencies).toFixed(0)} ms (max ${Math.max(...latencies).toFixed(0)})`,
        "≤ 50 ms",
        "node dist/bench/server.js",
      ],
    ];
  } finally {
    server?.kill("SIGTERM");
    await w.cleanup();
  }
}
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const [what, value, goal, command] of await serverRows())
    process.stdout.write(`${what}: ${value} (goal ${goal})  $ ${command}\n`);
}
