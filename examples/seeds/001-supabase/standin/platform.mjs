/**
 * The stand-in's hosting platform: the API the team's deploy scripts (scripts/deploy*.sh) call,
 * over its environments (environment.mjs: deployments, canary weights, the router). Every
 * request but an environment's version needs the deploy token (Authorization: Bearer). It also
 * plays the part of GitHub that `gh run list` reads (standin/bin/gh, with GITHUB_TOKEN).
 */
import http from "node:http";
import { close, listen, startEnvironment } from "./environment.mjs";

/** options: { apiPort, token, appFile, logDir, ci, environments: [spec of startEnvironment] } */
export async function startPlatform(options) {
  const { apiPort, token, ci } = options;
  const environments = new Map();
  const stopAll = async () => {
    await Promise.all([...environments.values()].map((e) => e.stop()));
  };
  try {
    for (const spec of options.environments) {
      environments.set(spec.name, await startEnvironment(spec, options));
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const api = http.createServer(async (req, res) => {
    const send = (status, body) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const url = new URL(req.url, "http://localhost");
    const env = /^\/v1\/envs\/([^/]+)(\/\w+)?$/.exec(url.pathname);
    try {
      if (req.method === "GET" && url.pathname === "/github/runs") {
        // The GitHub stand-in (standin/bin/gh): its own token, GITHUB_TOKEN.
        if (req.headers.authorization !== `Bearer ${ci.token}`)
          return send(401, { message: "Bad credentials" });
        return send(200, await ci.runs(url.searchParams.get("commit") ?? ""));
      }
      if (!env) return send(404, { error: "not found" });
      const environment = environments.get(env[1]);
      if (!environment) return send(404, { error: `unknown environment ${env[1]}` });
      if (req.method === "GET" && env[2] === "/version")
        return send(200, { version: environment.version() ?? null });
      if (req.headers.authorization !== `Bearer ${token}`)
        return send(401, { error: "invalid deploy token" });
      if (req.method === "GET" && !env[2]) return send(200, await environment.state());
      const body = await json(req);
      const version = String(body.version ?? "");
      if (!/^\d+\.\d+\.\d+$/.test(version)) return send(400, { error: "version must look like 1.4.0" });
      if (req.method === "POST" && env[2] === "/deploy") {
        return send(200, { message: await environment.deploy(version) });
      }
      if (req.method === "POST" && env[2] === "/shift") {
        const weight = Number(body.weight);
        if (!(weight >= 0 && weight <= 100)) return send(400, { error: "weight must be 0-100" });
        return send(200, { message: await environment.shift(version, weight) });
      }
      return send(404, { error: "not found" });
    } catch (err) {
      return send(409, { error: err.message });
    }
  });

  await listen(api, apiPort).catch(async (err) => {
    await stopAll();
    throw err;
  });
  return {
    environment: (name) => environments.get(name),
    async stop() {
      await close(api);
      await stopAll();
    },
  };
}

async function json(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}
