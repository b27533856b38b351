/** The postgres probe against a real embedded Postgres on loopback. */
import { createServer } from "node:net";
import { startPostgres } from "../../test/helpers/postgres-server.js";
import { type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";

const SECRET = "wr0ng-passw0rd-s3cr3t";

export const conformance: ConformanceCase = {
  type: "postgres",
  async setup(cleanup) {
    const server = await startPostgres();
    cleanup(() => server.stop());
    const notPostgres = await listen(
      createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n")),
      cleanup,
    );
    const http = await listen(
      createServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")),
      cleanup,
    );
    const at = (port: number) => `postgres://gantry@127.0.0.1:${port}/gantry`;
    const connect = (url: string) => spec({ type: "postgres", url, measure: "connect" });
    const query = (text: string, expect?: string) =>
      spec({
        type: "postgres",
        url: server.url,
        measure: "query",
        query: text,
        ...(expect ? { expect } : {}),
      });
    return {
      healthy: connect(server.url),
      failing: query("SELECT 1", "== 2"),
      unreachable: connect(at(await closedPort())),
      hanging: connect(at(await silentServer(cleanup))),
      secret: { spec: connect(server.urlWithPassword(SECRET)), value: SECRET },
      errors: [
        { what: "a server that speaks SSH", spec: connect(at(notPostgres)) },
        { what: "a server that speaks HTTP", spec: connect(at(http)) },
        { what: "not a URL", spec: connect("not a url") },
        { what: "an http URL", spec: connect("http://127.0.0.1/gantry") },
        { what: "a query that fails", spec: query("SELECT * FROM no_such_table") },
        { what: "a query without rows", spec: query("SELECT 1 WHERE false", "== 1") },
        { what: "a word against a number", spec: query("SELECT 'ok'", "> 1") },
      ],
    };
  },
};
