// Listening on an inherited socket (the master's, or the old binary's in an upgrade), as it is.
import cluster from "node:cluster";
import type net from "node:net";

/**
 * In a node:cluster worker listen({fd}) would ask the primary to listen on its own descriptor
 * of that number; net.Server's _listen2 (its listen step past the cluster check, there from
 * Node 0.x to 24) listens on this process's own.
 */
export function listenOnFd(server: net.Server, fd: number, onListening: () => void): void {
  if (!cluster.isWorker) return void server.listen({ fd, backlog: 511 }, onListening);
  server.once("listening", onListening);
  // Address and port null: net asserts that a descriptor comes with neither.
  (server as unknown as { _listen2(a: null, p: null, t: null, backlog: number, fd: number): void })._listen2(
    null,
    null,
    null,
    511,
    fd,
  );
}

/** The listening socket's descriptor, which a binary upgrade passes on. */
export function serverFd(server: net.Server): number | undefined {
  return (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
}
