/** The sentry probe against a local server implementing Sentry's Discover events API. */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { startSentryApi } from "../../test/helpers/sentry-api.js";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";
import type { MetricSource } from "./types.js";

const TOKEN = "sntrys_conformance_token";
const SECRET = "sntrys_a_token_sentry_does_not_know";

export const conformance: ConformanceCase = {
  type: "sentry",
  async setup(cleanup) {
    const sentry = await startSentryApi(
      { token: TOKEN, org: "shop", projects: [{ slug: "web", id: 11 }] },
      cleanup,
    );
    const now = Date.now();
    const minutesAgo = (m: number) => now - m * 60_000;
    sentry.events.push(
      { timestamp: minutesAgo(5), issue: "WEB-1", title: "TypeError: x is undefined" },
      { timestamp: minutesAgo(4), issue: "WEB-1", title: "TypeError: x is undefined" },
      { timestamp: minutesAgo(3), issue: "WEB-2", title: "RangeError: too deep" },
      // Before the deploy: not counted.
      { timestamp: minutesAgo(60), issue: "WEB-3", title: "Old error" },
    );
    const port = await listen(
      createHttpServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html>\n<body>\u0000\u00ff{{{ sign in first\n</body></html>");
      }),
      cleanup,
    );
    const notHttp = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    const at = (url: string, token = TOKEN, org = "shop"): MetricSource => ({
      type: "sentry",
      url,
      org,
      project: "web",
      token,
    });
    const metrics: Record<string, MetricSource> = {
      sentry: at(sentry.url),
      down: at(`http://127.0.0.1:${await closedPort()}`),
      hang: at(`http://127.0.0.1:${await silentServer(cleanup)}`),
      "wrong-token": at(sentry.url, SECRET),
      "wrong-org": at(sentry.url, TOKEN, "elsewhere"),
      html: at(`http://127.0.0.1:${port}`),
      "not-http": at(`http://127.0.0.1:${notHttp}`),
      "not-a-url": at("not a url"),
      prometheus: { type: "prometheus", url: sentry.url, headers: {} },
    };
    const errors = (source: string, expect = "< 5", query?: string) =>
      spec({ type: "sentry", source, measure: "errors", expect, ...(query ? { query } : {}) });
    return {
      context: { env: { name: "test", metrics }, since: new Date(minutesAgo(10)).toISOString() },
      healthy: errors("sentry"),
      failing: errors("sentry", "== 0"),
      unreachable: errors("down"),
      hanging: errors("hang"),
      secret: { spec: errors("wrong-token"), value: SECRET },
      errors: [
        { what: "HTML from a proxy", spec: errors("html") },
        { what: "a server that does not speak HTTP", spec: errors("not-http") },
        { what: "not a URL", spec: errors("not-a-url") },
        { what: "an organization Sentry does not know", spec: errors("wrong-org") },
        { what: "a search Sentry cannot parse", spec: errors("sentry", "< 5", 'title:"unterminated') },
        { what: "a source that does not exist", spec: errors("nowhere") },
        { what: "a source of another type", spec: errors("prometheus") },
      ],
    };
  },
};
