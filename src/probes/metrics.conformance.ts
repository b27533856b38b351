/** The metrics probe against a real HTTP server exposing Prometheus text on loopback. */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";

const SECRET = "metrics-scrape-key";

export const conformance: ConformanceCase = {
  type: "metrics",
  async setup(cleanup) {
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url === "/echo") {
          res.writeHead(401, { "content-type": "text/plain" });
          res.end(`unknown key ${req.headers["x-api-key"]}`);
        } else if (req.url === "/half") {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "content-length": "1000" });
          res.write("# TYPE");
        } else if (req.url === "/garbage") {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>\n<body>\u0000\u00ff{{{ not what you asked for\n</body></html>");
        } else {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          res.end(`# TYPE up gauge\nup ${req.url === "/down" ? 0 : 1}\n`);
        }
      }),
      cleanup,
    );
    const notHttp = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    const up = (url: string) => spec({ type: "metrics", url, gauge: "up", expect: 1 });
    const base = `http://127.0.0.1:${port}`;
    return {
      healthy: up(`${base}/metrics`),
      failing: up(`${base}/down`),
      unreachable: up(`http://127.0.0.1:${await closedPort()}/metrics`),
      hanging: up(`http://127.0.0.1:${await silentServer(cleanup)}/metrics`),
      secret: {
        spec: spec({ type: "metrics", url: `${base}/echo`, gauge: "up", headers: { "x-api-key": SECRET } }),
        value: SECRET,
      },
      errors: [
        { what: "a body cut off halfway", spec: up(`${base}/half`) },
        { what: "HTML where metrics were expected", spec: up(`${base}/garbage`) },
        { what: "a server that does not speak HTTP", spec: up(`http://127.0.0.1:${notHttp}/metrics`) },
        { what: "not a URL", spec: up("not a url") },
      ],
    };
  },
};
