// Replit Deployments as the stand-in plays it. The seed deploys by pushing to the branch the
// Replit deployment follows ("Replit auto-deploys from main branch"), so this is:
// - the git remote (a bare repository served by `git http-backend`, HTTP Basic with a token,
//   as GitHub takes one), and
// - the auto-deploy: after each accepted push it reads VERSION at the branch's head, starts
//   app.mjs at that version on the spare port, waits until it answers /health, points the
//   published URL at it and stops the previous process; and
// - the published App's URL (a reverse proxy), over HTTP and over HTTPS with a certificate for
//   the App's host name; the HTTPS side also serves the App's stored files (/files/…).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";

const APP = new URL("./app.mjs", import.meta.url).pathname;

export async function startReplit(o) {
  // o: { dir, branch, token, ports: { app, https, git, slots: [a, b] }, tls: { key, cert }, appEnv, listen, log }
  const bare = path.join(o.dir, "replit", "rur2.git");
  const files = path.join(o.dir, "replit", "files");
  fs.mkdirSync(files, { recursive: true });
  if (!fs.existsSync(bare))
    execFileSync("git", ["init", "--quiet", "--bare", `--initial-branch=${o.branch}`, bare]);
  const state = { serving: undefined, child: undefined, port: undefined, publishes: 0 };
  const children = new Set();
  let queue = Promise.resolve();

  const git = (...args) => {
    try {
      return execFileSync("git", ["--git-dir", bare, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return undefined;
    }
  };

  async function healthy(port, version) {
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
        const body = await res.json();
        if (res.ok && body.version === version) return true;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async function publish() {
    const version = git("show", `refs/heads/${o.branch}:VERSION`);
    if (!version || version === state.serving) return;
    const port = state.port === o.ports.slots[0] ? o.ports.slots[1] : o.ports.slots[0];
    const child = spawn(process.execPath, [APP], {
      env: { ...o.appEnv, PORT: String(port), RUR2_VERSION: version, RUR2_FILES_DIR: files },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    child.on("exit", () => children.delete(child));
    const logFile = fs.createWriteStream(path.join(o.dir, "replit", `app-${version}.log`), { flags: "a" });
    child.stdout.pipe(logFile);
    child.stderr.pipe(logFile);
    if (!(await healthy(port, version))) {
      o.log(`replit: ${version} did not start on ${port}; ${state.serving ?? "nothing"} keeps serving`);
      child.kill("SIGTERM");
      return;
    }
    // Like a platform's health checks before it moves traffic, a few requests warm the new
    // process up, so the first users (and the smoke tests) do not pay for its start.
    for (let i = 0; i < 30; i++)
      await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    const previous = state.child;
    Object.assign(state, { serving: version, child, port, publishes: state.publishes + 1 });
    o.log(`replit: published ${version} (127.0.0.1:${port})`);
    previous?.kill("SIGTERM");
  }
  const republish = () => {
    queue = queue.then(() => new Promise((r) => setTimeout(r, o.publishMs ?? 300))).then(publish, publish);
    return queue;
  };

  // The git remote.
  const authorized = (header) => {
    const m = /^Basic (.+)$/.exec(header ?? "");
    if (!m) return false;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    return decoded.slice(decoded.indexOf(":") + 1) === o.token;
  };
  const gitServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (!authorized(req.headers.authorization)) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="rur2 git"', "content-type": "text/plain" });
      res.end("Invalid username or token.\n");
      return;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: path.dirname(bare),
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: "x-access-token",
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["content-encoding"]
          ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }
          : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(child.stdin);
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.on("close", () => {
      const out = Buffer.concat(chunks);
      const split = out.indexOf("\r\n\r\n");
      const headEnd = split >= 0 ? split : out.indexOf("\n\n");
      const gap = split >= 0 ? 4 : 2;
      let status = 200;
      const headers = {};
      for (const line of out.subarray(0, Math.max(0, headEnd)).toString("utf8").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      res.writeHead(headEnd < 0 ? 500 : status, headers);
      res.end(headEnd < 0 ? "git http-backend gave no headers\n" : out.subarray(headEnd + gap));
      if (req.method === "POST" && url.pathname.endsWith("/git-receive-pack") && status === 200) republish();
    });
  });

  // The published URL: every request goes to the process serving now, over kept-alive
  // connections (as Replit's front does).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/files/") && req.socket.encrypted) {
      const file = path.resolve(files, `.${decodeURIComponent(url.pathname.slice(6))}`);
      if (!file.startsWith(`${files}${path.sep}`) || !fs.existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, {
        "content-type": file.endsWith(".pdf") ? "application/pdf" : "application/octet-stream",
      });
      return fs.createReadStream(file).pipe(res);
    }
    if (!state.port) {
      res.writeHead(503, { "content-type": "application/json" });
      return res.end('{"status":"starting"}');
    }
    // The body is read first, so that a request whose connection the previous version closed
    // while it was being replaced can be sent again, once, to the version serving now.
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => forward(Buffer.concat(chunks), 1));
    const forward = (body, retries) => {
      const upstream = http.request(
        {
          host: "127.0.0.1",
          port: state.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (retries > 0 && !res.headersSent) return forward(body, retries - 1);
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end('{"error":"bad gateway"}');
      });
      upstream.end(body);
    };
  };
  const front = http.createServer(proxy);
  const secure = https.createServer({ key: o.tls.key, cert: o.tls.cert }, proxy);

  await o.listen(gitServer, o.ports.git);
  await o.listen(front, o.ports.app);
  await o.listen(secure, o.ports.https);

  return {
    bare,
    files,
    served: () => state.serving,
    publish: republish,
    async stop() {
      const exits = [...children].map(
        (c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r))),
      );
      for (const c of children) c.kill("SIGTERM");
      const timer = setTimeout(() => {
        for (const c of children) c.kill("SIGKILL");
      }, 3000);
      await Promise.all(exits);
      clearTimeout(timer);
    },
  };
}
