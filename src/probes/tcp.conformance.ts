/**
 * The tcp probe against real ports on loopback. For tcp a refused connection is the measured
 * failure (`failed`); "nothing answers" is a port whose accept queue is full, where the kernel
 * drops the connection request and connecting hangs (`error` after the timeout).
 */
import { connect, type Socket } from "node:net";
import { Worker } from "node:worker_threads";
import { CONFORMANCE_TIMEOUT, type ConformanceCase, spec } from "./conformance.js";
import { closedPort, silentServer } from "./test-support.js";

const SECRET = "s3cr3t-db-password";

type Cleanup = (stop: () => unknown) => void;

export const conformance: ConformanceCase = {
  type: "tcp",
  async setup(cleanup) {
    const open = await silentServer(cleanup);
    const full = await unansweredPort(cleanup);
    const tcp = (host: string, port: number, timeout = "5s") => spec({ type: "tcp", host, port, timeout });
    return {
      healthy: tcp("127.0.0.1", open),
      failing: tcp("127.0.0.1", await closedPort()),
      unreachable: tcp("127.0.0.1", full, CONFORMANCE_TIMEOUT),
      hanging: tcp("127.0.0.1", full, CONFORMANCE_TIMEOUT),
      // A connection URL pasted as the host: refused before any lookup, the host quoted.
      secret: { spec: tcp(`postgres://app:${SECRET}@db.internal`, 5432), value: SECRET },
      errors: [
        { what: "a host with a port", spec: tcp("127.0.0.1:5432", 5432) },
        { what: "a host with spaces", spec: tcp("db internal", 5432) },
      ],
    };
  },
};

/**
 * A loopback port where connecting hangs: a listener (backlog 1) in a worker thread that
 * blocks before it accepts anything, its accept queue filled with connections that complete.
 * Further connection requests are dropped by the kernel, unanswered, until cleanup.
 */
export async function unansweredPort(cleanup: Cleanup): Promise<number> {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const server = require("node:net").createServer();
     server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0);
       server.close();
     });`,
    { eval: true, workerData: wake },
  );
  const fillers: Socket[] = [];
  cleanup(async () => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(wake, 0, 1);
    Atomics.notify(wake, 0);
    await worker.terminate();
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  // Fill the queue: connect until a connection does not complete within 200ms. The verdict
  // waits for the event loop's I/O after the timer, so a busy loop does not pass for a hang.
  for (let i = 0; i < 64; i++) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once("connect", () => resolve(true));
      setTimeout(() => setImmediate(() => resolve(false)), 200);
    });
    if (!connected) {
      socket.destroy();
      return port;
    }
    fillers.push(socket);
  }
  throw new Error(`the accept queue of 127.0.0.1:${port} did not fill up`);
}
