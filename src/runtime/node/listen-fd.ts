// Listening on an inherited socket (an upgrade's, or a Bun master's for `listen … ssl`), as it is.
import type net from "node:net";

export function listenOnFd(server: net.Server, fd: number, onListening: () => void): void {
  server.listen({ fd, backlog: 511 }, onListening);
}

/** The listening socket's descriptor, which a binary upgrade passes on. */
export function serverFd(server: net.Server): number | undefined {
  return (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
}
