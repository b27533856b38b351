/** The prometheus probe against a real Prometheus server scraping a local service. */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { serveMetrics, startPrometheus } from "../../test/helpers/prometheus-server.js";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";
import type { MetricSource } from "./types.js";

const SECRET = "prometheus-proxy-token";

export const conformance: ConformanceCase = {
  type: "prometheus",
  async setup(cleanup) {
    const app = await serveMetrics(cleanup);
    app.set("app_up", 1);
    app.set("app_requests_total", 10, { code: "200" });
    app.set("app_requests_total", 2, { code: "500" });
    const prometheus = await startPrometheus({ targets: [app.target] });
    cleanup(() => prometheus.stop());
    await prometheus.waitForSample("app_requests_total");

    // A server that answers the API's paths with what Prometheus never sends.
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url?.startsWith("/echo/")) {
          res.writeHead(401, { "content-type": "text/plain" });
          res.end(`no access for ${req.headers.authorization}`);
        } else if (req.url?.startsWith("/html/")) {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>\n<body>\u0000\u00ff{{{ sign in first\n</body></html>");
        } else if (req.url?.startsWith("/half/")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"status":"success","data":{"resultType":"vec');
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ ok: true }));
        }
      }),
      cleanup,
    );
    const notHttp = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    const base = `http://127.0.0.1:${port}`;
    const at = (url: string, headers: Record<string, string> = {}): MetricSource => ({
      type: "prometheus",
      url,
      headers,
    });
    const metrics: Record<string, MetricSource> = {
      prom: at(prometheus.url),
      down: at(`http://127.0.0.1:${await closedPort()}`),
      hang: at(`http://127.0.0.1:${await silentServer(cleanup)}`),
      echo: at(`${base}/echo`, { authorization: `Bearer ${SECRET}` }),
      html: at(`${base}/html`),
      half: at(`${base}/half`),
      other: at(`${base}/other`),
      "not-http": at(`http://127.0.0.1:${notHttp}`),
      "not-a-url": at("not a url"),
      sentry: { type: "sentry", url: base, org: "o", project: "p", token: "t" },
    };
    const q = (source: string, query = "app_up", expect: string | number = 1) =>
      spec({ type: "prometheus", source, query, expect });
    return {
      context: { env: { name: "test", metrics } },
      healthy: q("prom"),
      failing: q("prom", 'sum(app_requests_total{code="500"})', "< 1"),
      unreachable: q("down"),
      hanging: q("hang"),
      secret: { spec: q("echo"), value: SECRET },
      errors: [
        { what: "HTML from a proxy", spec: q("html") },
        { what: "JSON cut off halfway", spec: q("half") },
        { what: "JSON that is not a Prometheus answer", spec: q("other") },
        { what: "a server that does not speak HTTP", spec: q("not-http") },
        { what: "not a URL", spec: q("not-a-url") },
        { what: "a source that does not exist", spec: q("nowhere") },
        { what: "a source of another type", spec: q("sentry") },
        { what: "bad PromQL", spec: q("prom", "sum(app_up") },
        { what: "two series", spec: q("prom", "app_requests_total") },
        { what: "no series", spec: q("prom", "app_not_exposed_total") },
        { what: "NaN", spec: q("prom", "0/0") },
        { what: "a range vector from an instant query", spec: q("prom", "app_up[1m]") },
      ],
    };
  },
};
