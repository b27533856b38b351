/**
 * Grafana's data source proxy, as the runbook reads Prometheus: requests to
 * /api/datasources/proxy/uid/prometheus/<path> with `Authorization: Bearer <token>` are passed
 * to the stand-in's real Prometheus at <path>; a missing or wrong token answers 401 as Grafana
 * does, and the token is not passed on.
 */
import http from "node:http";
import { bearer, close, json, listen } from "./listen.mjs";

const PREFIX = "/api/datasources/proxy/uid/prometheus";

export async function startGrafanaProxy({ port, token, prometheus }) {
  const target = new URL(prometheus);
  const server = http.createServer((req, res) => {
    if (bearer(req) !== token) return json(res, 401, { message: "Unauthorized" });
    if (!req.url?.startsWith(`${PREFIX}/`)) return json(res, 404, { message: "Not found" });
    const { authorization: _, host: __, ...headers } = req.headers;
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url.slice(PREFIX.length),
        method: req.method,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (e) =>
      json(res, 502, { message: `data source proxy error: ${e.code ?? e.message}` }),
    );
    req.pipe(upstream);
  });
  await listen(server, port);
  return { stop: () => close(server) };
}
