/**
 * A stand-in for what the Replit recipe (examples/recipes/replit/) talks to: the git remote a
 * Replit App's code follows, and the published App's health endpoint.
 *
 * The remote is a real bare repository in a temporary folder, served over git's smart HTTP
 * protocol by `git http-backend` (as a CGI program behind a Node server on 127.0.0.1). Every
 * request must carry HTTP Basic credentials whose password is `token` (what GitHub accepts as
 * `x-access-token:<token>`); anything else is 401 with a WWW-Authenticate challenge.
 *
 * Replit documents no API that republishes an App, so what a republish does is modelled, not
 * copied from a vendor: `publishMs` after each accepted push, the App serves the VERSION file
 * of the branch it follows, and GET /health answers {"status":"ok","version":…} (503 before
 * the first publish). `pushes` counts accepted pushes, `publishes` the republishes.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listen } from "../../src/probes/test-support.js";

type Cleanup = (stop: () => unknown) => void;

export interface ReplitRemote {
  /** The remote's URL, http://127.0.0.1:<port>/app.git (no credentials in it). */
  gitUrl: string;
  /** The published App's URL; GET /health. */
  appUrl: string;
  /** The bare repository's folder. */
  bare: string;
  branch: string;
  served(): string | undefined;
  /** The commit the branch points at on the remote. */
  head(): string | undefined;
  counts: { pushes: number; publishes: number; refused: number };
}

export async function startReplitRemote(
  options: { token: string; branch?: string; publishMs?: number },
  cleanup: Cleanup,
): Promise<ReplitRemote> {
  const branch = options.branch ?? "main";
  const publishMs = options.publishMs ?? 300;
  const root = mkdtempSync(join(tmpdir(), "gantry-replit-remote-"));
  cleanup(() => rmSync(root, { recursive: true, force: true }));
  const bare = join(root, "app.git");
  execFileSync("git", ["init", "--quiet", "--bare", `--initial-branch=${branch}`, bare]);
  const counts = { pushes: 0, publishes: 0, refused: 0 };
  let served: string | undefined;
  const pending = new Set<NodeJS.Timeout>();
  cleanup(() => {
    for (const t of pending) clearTimeout(t);
  });

  const git = (...args: string[]) => {
    try {
      return execFileSync("git", ["--git-dir", bare, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return undefined;
    }
  };
  const republish = () => {
    const t = setTimeout(() => {
      pending.delete(t);
      const version = git("show", `refs/heads/${branch}:VERSION`);
      if (version !== undefined) {
        served = version;
        counts.publishes++;
      }
    }, publishMs);
    pending.add(t);
  };

  const authorized = (header: string | undefined) => {
    const m = /^Basic (.+)$/.exec(header ?? "");
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon >= 0 && decoded.slice(colon + 1) === options.token
      ? decoded.slice(0, colon) || "git"
      : undefined;
  };

  const gitServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const user = authorized(req.headers.authorization);
    if (!user) {
      counts.refused++;
      req.resume();
      res.writeHead(401, {
        "www-authenticate": 'Basic realm="replit stand-in"',
        "content-type": "text/plain",
      });
      res.end("Invalid username or token.\n");
      return;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: user,
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["content-encoding"]
          ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }
          : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.on("close", (code) => {
      const out = Buffer.concat(chunks);
      let split = out.indexOf("\r\n\r\n");
      let gap = 4;
      if (split < 0) {
        split = out.indexOf("\n\n");
        gap = 2;
      }
      if (split < 0) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`git http-backend ended ${code} without headers\n`);
        return;
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of out.subarray(0, split).toString("utf8").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.end(out.subarray(split + gap));
      if (req.method === "POST" && url.pathname.endsWith("/git-receive-pack") && status === 200) {
        counts.pushes++;
        republish();
      }
    });
  });
  const gitPort = await listen(gitServer, cleanup);

  const appServer = http.createServer((req, res) => {
    if (req.url !== "/health") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"not found"}');
      return;
    }
    if (served === undefined) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end('{"status":"starting"}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", version: served }));
  });
  const appPort = await listen(appServer, cleanup);

  return {
    gitUrl: `http://127.0.0.1:${gitPort}/app.git`,
    appUrl: `http://127.0.0.1:${appPort}`,
    bare,
    branch,
    served: () => served,
    head: () => git("rev-parse", `refs/heads/${branch}`),
    counts,
  };
}
