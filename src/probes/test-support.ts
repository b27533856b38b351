/**
 * Loopback servers for probe tests: listen on a free port and close (dropping every
 * connection) at cleanup; a port where nothing listens; a server that accepts and never says
 * a word.
 */
import type { Server as HttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import type { Server as TlsServer } from "node:tls";

type Cleanup = (stop: () => unknown) => void;

/** Listens on 127.0.0.1 and a free port; returns the port. */
export async function listen(server: Server | HttpServer | TlsServer, cleanup: Cleanup): Promise<number> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  };
  server.on("connection", track);
  server.on("secureConnection", track);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A loopback port where nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that accepts connections and never answers. */
export function silentServer(cleanup: Cleanup): Promise<number> {
  return listen(
    createServer(() => undefined),
    cleanup,
  );
}
