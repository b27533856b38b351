/** The tls probe against TLS servers on loopback, with certificates from a test CA. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { leaf, testCa } from "../../test/helpers/certs.js";
import { CONFORMANCE_TIMEOUT, type ConformanceCase, spec } from "./conformance.js";
import { closedPort, listen, silentServer } from "./test-support.js";

const SECRET = "s3cr3t-tenant-id";
const NAME = "app.example.test";

export const conformance: ConformanceCase = {
  type: "tls",
  async setup(cleanup) {
    const dir = await mkdtemp(path.join(tmpdir(), "gantry-tls-"));
    cleanup(() => rm(dir, { recursive: true, force: true }));
    const ca = testCa();
    await writeFile(path.join(dir, "ca.pem"), ca.cert);
    const serve = (notAfter: number) =>
      listen(createTlsServer(leaf({ name: NAME, ips: ["127.0.0.1"], notAfter, ca })), cleanup);
    const valid = await serve(90);
    const soon = await serve(3.5);
    const notTls = await listen(
      createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n")),
      cleanup,
    );
    // A handshake on a loaded machine can take longer than CONFORMANCE_TIMEOUT; only the
    // hanging target needs it.
    const tls = (port: number, extra: Record<string, unknown> = {}) =>
      spec({ type: "tls", host: "127.0.0.1", port, servername: NAME, ca: "ca.pem", timeout: "5s", ...extra });
    return {
      healthy: tls(valid),
      failing: tls(soon),
      unreachable: tls(await closedPort()),
      hanging: tls(await silentServer(cleanup), { timeout: CONFORMANCE_TIMEOUT }),
      // A name holding the secret: the hostname mismatch names it.
      secret: { spec: tls(valid, { servername: `${SECRET}.example.test` }), value: SECRET },
      errors: [
        { what: "a server that does not speak TLS", spec: tls(notTls) },
        { what: "a URL for a host", spec: tls(valid, { host: `https://${NAME}` }) },
        { what: "a CA file that does not exist", spec: tls(valid, { ca: "missing.pem" }) },
      ],
      context: { dir },
    };
  },
};
