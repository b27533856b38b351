/**
 * The weighted proxy local-process runs for a canary: a small HTTP proxy on the service's port
 * that sends each request to one of two versions by weight, so a canary on one machine gets
 * its stated share of requests. It runs as its own detached process (started by
 * src/providers/local-canary.ts as `node weighted-proxy.js <routes.json>`), so it keeps serving
 * after Gantry exits.
 *
 * Routes: `{"port": 18080, "targets": [{"port": 40001, "weight": 0.9, "version": "1.0.0"}, …]}`.
 * On SIGHUP it reads the file again; the new shares apply to the next request. The choice is
 * smooth weighted round robin (each target earns its weight per request and the richest one is
 * chosen), not random: over any n requests each target's count is within one of its share.
 * Requests are forwarded with a keep-alive agent; websocket and other upgrades are piped as
 * they are. `x-gantry-version` on each response names the version that answered.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Routes {
  port: number;
  targets: Array<{ port: number; weight: number; version: string }>;
}

export function readRoutes(file: string): Routes {
  const routes = JSON.parse(readFileSync(file, "utf8")) as Routes;
  if (!Number.isInteger(routes.port) || !Array.isArray(routes.targets))
    throw new Error(`${file}: not a routes file`);
  return routes;
}

/** Smooth weighted round robin over the targets with a weight above 0. */
export class Chooser {
  private credit: number[] = [];
  constructor(private targets: Routes["targets"] = []) {
    this.set(targets);
  }

  set(targets: Routes["targets"]): void {
    this.targets = targets.filter((t) => t.weight > 0);
    this.credit = this.targets.map(() => 0);
  }

  next(): Routes["targets"][number] | undefined {
    if (this.targets.length === 0) return undefined;
    const total = this.targets.reduce((sum, t) => sum + t.weight, 0);
    let best = 0;
    for (let i = 0; i < this.targets.length; i++) {
      this.credit[i]! += this.targets[i]!.weight;
      if (this.credit[i]! > this.credit[best]!) best = i;
    }
    this.credit[best]! -= total;
    return this.targets[best];
  }
}

/** Starts the proxy; resolves once it listens. */
export function startProxy(routes: Routes): Promise<{ server: http.Server; chooser: Chooser }> {
  const chooser = new Chooser(routes.targets);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const target = chooser.next();
    if (!target) {
      res.writeHead(503, { "content-type": "text/plain" }).end("no version is serving\n");
      return;
    }
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, "x-gantry-version": target.version });
        answer.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`version ${target.version} did not answer: ${e.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const target = chooser.next();
    if (!target) return socket.destroy();
    const upstream = net.connect(target.port, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", close);
    socket.on("error", close);
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(routes.port, "127.0.0.1", () => resolve({ server, chooser }));
  });
}

async function main(file: string): Promise<void> {
  const { chooser } = await startProxy(readRoutes(file));
  process.on("SIGHUP", () => {
    try {
      chooser.set(readRoutes(file).targets);
      console.log(`routes reloaded from ${file}`);
    } catch (e) {
      console.error(`routes not reloaded: ${(e as Error).message}`);
    }
  });
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`weighted proxy listening on 127.0.0.1 for ${file}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv[2] ?? "").catch((e: Error) => {
    console.error(`weighted proxy: ${e.message}`);
    process.exit(1);
  });
}
