// Listening sockets: net.Server binds (workers share ports as processes.ts says), and each
// accepted connection is taken as a bare TCP handle, or as a net.Socket where handles are
// out of reach.
import net from "node:net";
import type { ClientConnection, Listener, ListenOptions } from "../../core/runtime.ts";
import { NodeConnection } from "./connection.ts";
import { listensWithReusePort } from "./processes.ts";
import { SocketConnection, socketServer } from "./socket.ts";
import { takeAccepts, tcpHandlesUnavailable } from "./tcp-handles.ts";

function ignore(): void {}

export function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    // Not pauseOnConnect: a paused socket costs an extra epoll change to start reading, and
    // what a client sends before the relay starts simply waits in the socket's buffer.
    const server = tcpHandlesUnavailable ? socketServer() : net.createServer();
    server.once("error", reject);
    const reusePort = options.reusePort === true && listensWithReusePort();
    // nginx's `listen 8000` is 0.0.0.0:8000 (IPv4 only); [::]:8000 must be asked for.
    // An inherited socket (binary upgrade) is listened on as it is: bound and listening already.
    const where = options.fd !== undefined
      ? { fd: options.fd, backlog: 511 }
      : { port: options.port, host: options.host ?? "0.0.0.0", backlog: 511, reusePort };
    server.listen(where, () => {
      server.off("error", reject);
      server.on("error", ignore);
      let paused = false;
      if (tcpHandlesUnavailable) {
        server.on("connection", (socket) => {
          if (paused) return void socket.destroy();
          if (options.noDelay) socket.setNoDelay(true);
          onConnection(new SocketConnection(socket) as unknown as ClientConnection);
        });
      } else {
        takeAccepts(server, (handle) => {
          // libuv cannot be told to stop accepting on a listening handle, so while paused what
          // it accepts is closed at once: the same thing libuv does itself on EMFILE (its spare
          // descriptor trick), only before the descriptors are all gone.
          if (paused) return handle.close();
          if (options.noDelay) handle.setNoDelay(true);
          onConnection(new NodeConnection(handle) as unknown as ClientConnection);
        });
      }
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: options.host ?? "0.0.0.0",
        port: addr.port,
        // What a binary upgrade passes on: libuv's descriptor of the listening socket.
        fd: (server as unknown as { _handle?: { fd?: number } })._handle?.fd,
        // Stops accepting at once; close()'s callback would wait for every live session.
        close: async () => void server.close(),
        pause: () => void (paused = true),
        resume: () => void (paused = false),
      });
    });
  });
}
