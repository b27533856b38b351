/** The redis probe against a real redis-server on loopback. */
import { createServer } from "node:net";
import { startRedis } from "../../test/helpers/redis-server.js";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";

const PASSWORD = "the-right-password";
const SECRET = "wr0ng-passw0rd-s3cr3t";

export const conformance: ConformanceCase = {
  type: "redis",
  async setup(cleanup) {
    const server = await startRedis(["--requirepass", PASSWORD]);
    cleanup(() => server.stop());
    const notRedis = await listen(
      createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n")),
      cleanup,
    );
    const http = await listen(
      createServer((socket) =>
        socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")),
      ),
      cleanup,
    );
    const url = (password: string) => `redis://:${password}@127.0.0.1:${server.port}`;
    const at = (port: number) => `redis://127.0.0.1:${port}`;
    const ping = (u: string) => spec({ type: "redis", url: u, measure: "ping" });
    return {
      healthy: ping(url(PASSWORD)),
      failing: spec({ type: "redis", url: url(PASSWORD), measure: "policy", expect: "allkeys-lru" }),
      unreachable: ping(at(await closedPort())),
      hanging: ping(at(await silentServer(cleanup))),
      secret: { spec: ping(url(SECRET)), value: SECRET },
      errors: [
        { what: "a server that speaks SSH", spec: ping(at(notRedis)) },
        { what: "a server that speaks HTTP", spec: ping(at(http)) },
        { what: "no password where one is required", spec: ping(at(server.port)) },
        { what: "not a URL", spec: ping("not a url") },
        { what: "an http URL", spec: ping(`http://127.0.0.1:${server.port}`) },
        { what: "a database that is not a number", spec: ping(`${url(PASSWORD)}/sessions`) },
        {
          what: "a word against a number",
          spec: spec({ type: "redis", url: url(PASSWORD), expect: "== fast" }),
        },
      ],
    };
  },
};
