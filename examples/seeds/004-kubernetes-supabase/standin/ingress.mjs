/**
 * The stand-in's ingress, https://app.valuecanvas.com played on 127.0.0.1: /api/… goes to the
 * api Deployment's pods, everything else to web's, each to the newest version with ready pods
 * (kubelet.route). Without a ready pod it answers 503 with a page that is not JSON, as an
 * ingress controller's error page. GET /_standin/version answers what the cluster serves:
 * the tag all three Deployments run once rolled out (from the Kubernetes stand-in, not from
 * Gantry), or null during a rollout.
 */
import http from "node:http";
import { close, listen } from "./listen.mjs";
import { DEPLOYMENTS, NAMESPACE } from "./ports.mjs";

export async function startIngress({ port, kubelet, k8s, image }) {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://ingress").pathname;
    if (path === "/_standin/version") {
      const deployments = Object.fromEntries(
        DEPLOYMENTS.map((d) => [d, k8s.serving(NAMESPACE, [d], image) ?? null]),
      );
      const version = k8s.serving(NAMESPACE, DEPLOYMENTS, image) ?? null;
      res.writeHead(version ? 200 : 503, { "content-type": "application/json" });
      return res.end(JSON.stringify({ version, deployments }));
    }
    const target = kubelet.route(path.startsWith("/api/") ? "api" : "web");
    if (!target) {
      res.writeHead(503, { "content-type": "text/html" });
      return res.end("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n");
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: target, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>\n");
    });
    req.pipe(upstream);
  });
  await listen(server, port);
  return { stop: () => close(server) };
}
