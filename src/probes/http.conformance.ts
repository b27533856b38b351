/** The http probe against a real HTTP server on loopback. */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";

const SECRET = "s3cr3t-token-value";

export const conformance: ConformanceCase = {
  type: "http",
  async setup(cleanup) {
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url === "/echo") {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: `bad token ${req.headers.authorization}` }));
        } else if (req.url === "/half") {
          res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
          res.write('{"sta');
        } else if (req.url === "/garbage") {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>\n<body>\u0000\u00ff{{{ not what you asked for\n</body></html>");
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ status: req.url === "/degraded" ? "degraded" : "ok" }));
        }
      }),
      cleanup,
    );
    const notHttp = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    const ok = (url: string) =>
      spec({ type: "http", url, expect: { body: [{ path: "$.status", equals: "ok" }] } });
    const base = `http://127.0.0.1:${port}`;
    return {
      healthy: ok(`${base}/health`),
      failing: ok(`${base}/degraded`),
      unreachable: ok(`http://127.0.0.1:${await closedPort()}/health`),
      hanging: ok(`http://127.0.0.1:${await silentServer(cleanup)}/health`),
      secret: {
        spec: spec({ type: "http", url: `${base}/echo`, headers: { authorization: `Bearer ${SECRET}` } }),
        value: SECRET,
      },
      errors: [
        { what: "a body cut off halfway", spec: ok(`${base}/half`) },
        { what: "HTML where JSON was expected", spec: ok(`${base}/garbage`) },
        { what: "a server that does not speak HTTP", spec: ok(`http://127.0.0.1:${notHttp}/health`) },
        { what: "not a URL", spec: ok("not a url") },
        { what: "an ftp URL", spec: ok("ftp://127.0.0.1/x") },
      ],
    };
  },
};
