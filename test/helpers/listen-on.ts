/**
 * Listening on a port chosen by the caller, for stand-ins that must be found at a fixed
 * address (the seed stand-ins, whose ports are written in their READMEs). Unlike `listen` in
 * src/probes/test-support.ts, a port already taken is an error naming the port, not a retry.
 */
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Server, Socket } from "node:net";
import { listen } from "../../src/probes/test-support.js";

type Cleanup = (stop: () => unknown) => void;

/** Listens on 127.0.0.1:`port`, or on a free port when `port` is undefined; returns the port. */
export async function listenOn(
  server: Server | HttpServer,
  port: number | undefined,
  cleanup: Cleanup,
): Promise<number> {
  if (port === undefined) return listen(server, cleanup);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
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
