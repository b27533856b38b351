/**
 * Listening for the stand-ins: on a free port (the tests' way, through test-support's listen)
 * or on a fixed one, for the seed stand-ins whose ports are written in their READMEs. Either
 * way 127.0.0.1 only, and every connection is dropped at cleanup.
 */
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Server, Socket } from "node:net";
import { listen } from "../../src/probes/test-support.js";

type Cleanup = (stop: () => unknown) => void;

/** Listens on 127.0.0.1 and `port` (a free one when undefined); returns the port. */
export async function listenAt(
  server: Server | HttpServer,
  cleanup: Cleanup,
  port?: number,
): Promise<number> {
  if (port === undefined) return listen(server, cleanup);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port is an error to report, naming the port, not a reason to pick another.
    const failed = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE" ? new Error(`127.0.0.1:${port} is already in use by another program`) : err,
      );
    server.once("error", failed);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", failed);
      resolve();
    });
  });
  cleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}
