/** The posthog probe against a local server implementing PostHog's HogQL query API. */
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { startPosthogApi } from "../../test/helpers/posthog-api.js";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";
import type { MetricSource } from "./types.js";

const TOKEN = "phx_conformance_key";
const SECRET = "phx_a_key_posthog_does_not_know";

export const conformance: ConformanceCase = {
  type: "posthog",
  async setup(cleanup) {
    const posthog = await startPosthogApi({ token: TOKEN, project: "11111" }, cleanup);
    const minutesAgo = (m: number) => Date.now() - m * 60_000;
    posthog.add("i_chat_completed", 95, minutesAgo(3));
    posthog.add("i_request_failed", 5, minutesAgo(2));
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url?.startsWith("/half/")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"results": [["i_chat_completed", 9');
        } else if (req.url?.startsWith("/other/")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ results: [["i_chat_completed", "many"]] }));
        } else {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>\n<body>\u0000\u00ff{{{ sign in first\n</body></html>");
        }
      }),
      cleanup,
    );
    const notHttp = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    const base = `http://127.0.0.1:${port}`;
    const at = (url: string, token = TOKEN, project = "11111"): MetricSource => ({
      type: "posthog",
      url,
      project,
      token,
    });
    const metrics: Record<string, MetricSource> = {
      posthog: at(posthog.url),
      down: at(`http://127.0.0.1:${await closedPort()}`),
      hang: at(`http://127.0.0.1:${await silentServer(cleanup)}`),
      "wrong-token": at(posthog.url, SECRET),
      "wrong-project": at(posthog.url, TOKEN, "22222"),
      html: at(`${base}/html`),
      half: at(`${base}/half`),
      other: at(`${base}/other`),
      "not-http": at(`http://127.0.0.1:${notHttp}`),
      "not-a-url": at("not a url"),
      sentry: { type: "sentry", url: base, org: "o", project: "p", token: "t" },
    };
    const ratio = (source: string, expect = ">= 90%") =>
      spec({
        type: "posthog",
        source,
        ratio: { numerator: "i_chat_completed", denominator: ["i_chat_completed", "i_request_failed"] },
        window: "15m",
        expect,
      });
    return {
      context: { env: { name: "test", metrics }, since: new Date(minutesAgo(10)).toISOString() },
      healthy: ratio("posthog"),
      failing: spec({ type: "posthog", source: "posthog", event: "i_request_failed", expect: "< 3" }),
      unreachable: ratio("down"),
      hanging: ratio("hang"),
      secret: { spec: ratio("wrong-token"), value: SECRET },
      errors: [
        { what: "HTML from a proxy", spec: ratio("html") },
        { what: "JSON cut off halfway", spec: ratio("half") },
        { what: "a count that is not a number", spec: ratio("other") },
        { what: "a server that does not speak HTTP", spec: ratio("not-http") },
        { what: "not a URL", spec: ratio("not-a-url") },
        { what: "a project PostHog does not know", spec: ratio("wrong-project") },
        { what: "a source that does not exist", spec: ratio("nowhere") },
        { what: "a source of another type", spec: ratio("sentry") },
      ],
    };
  },
};
