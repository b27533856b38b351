/**
 * One environment of the stand-in's hosting platform: each version of estate-vault runs as its
 * own process (a "deployment") on a port of its own, and a router on the environment's public
 * port sends each request, websockets included, to a deployment by weight.
 *
 * The rules the team's deploy scripts (scripts/deploy*.sh) rely on:
 * - deploy V: V serves alone at once when nothing serves yet, when V already runs, or when V
 *   served here before (that is a rollback: the previous artifact comes back, and whatever else
 *   runs is stopped). A new version starts beside the serving one with no traffic, as a canary,
 *   until a shift gives it some;
 * - shift V W: the canary V gets W% of requests, the stable version the rest; at 100 V is
 *   promoted and the stable version stopped;
 * - status: every running deployment answers /api/health/ready with "ready".
 */
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";

const START_TIMEOUT_MS = 30_000;

/** spec: { name, routerPort, instancePorts, appEnv, afterStart }; shared: { appFile, logDir }. */
export async function startEnvironment(spec, { appFile, logDir }) {
  const { name, routerPort, instancePorts, appEnv, afterStart } = spec;
  /** version → { version, port, child, log, weight } */
  const running = new Map();
  const served = new Set();
  let stable;
  let canary;
  let queue = Promise.resolve();
  /** Deploys and shifts happen one at a time, in the order they arrived. */
  const serially = (work) => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  async function start(version) {
    const port = instancePorts.find((p) => ![...running.values()].some((d) => d.port === p));
    if (port === undefined) throw new Error("no free deployment port");
    const log = path.join(logDir, `estate-vault-${name}-${version}.log`);
    const out = createWriteStream(log, { flags: "a" });
    const child = spawn(process.execPath, [appFile], {
      env: { ...appEnv, PORT: String(port), VERSION: version },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    const deployment = { version, port, child, log, weight: 0 };
    running.set(version, deployment);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if ((await answer(port, "/api/health"))?.status === 200) {
        await afterStart();
        return deployment;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop(version);
    const tail = readFileSync(log, "utf8").trim().split("\n").slice(-5).join("\n");
    throw new Error(
      `${version} did not become healthy within ${START_TIMEOUT_MS / 1000}s; its log ends:\n${tail}`,
    );
  }

  async function stop(version) {
    const d = running.get(version);
    if (!d) return;
    running.delete(version);
    if (d.child.exitCode !== null || d.child.signalCode !== null) return;
    const exited = new Promise((resolve) => d.child.once("exit", resolve));
    d.child.kill("SIGTERM");
    const timer = setTimeout(() => d.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** `version` takes every request; every other deployment stops. */
  async function alone(version) {
    if (!running.has(version)) await start(version);
    running.get(version).weight = 100;
    for (const other of [...running.keys()]) if (other !== version) await stop(other);
    stable = version;
    canary = undefined;
    served.add(version);
  }

  async function deploy(version) {
    if (!stable || running.has(version) || served.has(version)) {
      await alone(version);
      return `${version} serves all traffic`;
    }
    if (canary && canary !== version) await stop(canary);
    await start(version);
    canary = version;
    return `${version} deployed beside ${stable}, no traffic yet`;
  }

  async function shift(version, weight) {
    if (weight >= 100 && stable === version) return `${version} already serves all traffic`;
    if (canary !== version) throw new Error(`${version} is not the canary (canary: ${canary ?? "none"})`);
    if (weight >= 100) {
      const was = stable;
      await alone(version);
      return `${version} promoted: all traffic; ${was} stopped`;
    }
    running.get(version).weight = weight;
    running.get(stable).weight = 100 - weight;
    return `${weight}% of traffic on ${version}, ${100 - weight}% on ${stable}`;
  }

  async function state() {
    const deployments = await Promise.all(
      [...running.values()].map(async (d) => {
        const ready = await answer(d.port, "/api/health/ready");
        return { version: d.version, port: d.port, weight: d.weight, ready: ready?.body?.status === "ready" };
      }),
    );
    return { environment: name, serving: stable ?? null, canary: canary ?? null, deployments };
  }

  // Smooth weighted round robin: over any run of requests each deployment's share is its weight.
  const credit = new Map();
  function pick() {
    const live = [...running.values()].filter((d) => d.weight > 0);
    if (live.length === 0) return undefined;
    const total = live.reduce((sum, d) => sum + d.weight, 0);
    let best;
    for (const d of live) {
      credit.set(d.version, (credit.get(d.version) ?? 0) + d.weight);
      if (!best || credit.get(d.version) > credit.get(best.version)) best = d;
    }
    credit.set(best.version, credit.get(best.version) - total);
    return best;
  }

  const router = http.createServer((req, res) => {
    const target = pick();
    if (!target) {
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"no deployment serves"}');
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end('{"error":"deployment unreachable"}');
    });
    req.pipe(upstream);
  });
  router.on("upgrade", (req, socket, head) => {
    const target = pick();
    if (!target) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
      return;
    }
    const upstream = net.connect(target.port, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });

  await listen(router, routerPort);
  return {
    name,
    deploy: (version) => serially(() => deploy(version)),
    shift: (version, weight) => serially(() => shift(version, weight)),
    state,
    version: () => stable,
    async stop() {
      await close(router);
      await Promise.all([...running.keys()].map(stop));
    },
  };
}

/** Listens on a fixed loopback port, keeping its sockets: websockets too must end at stop. */
export function listen(server, port) {
  const sockets = new Set();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.sockets = sockets;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
}

export function close(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of server.sockets) socket.destroy();
  });
}

/** GET a deployment's path: { status, body } or undefined when it does not answer. */
async function answer(port, pathname) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}
