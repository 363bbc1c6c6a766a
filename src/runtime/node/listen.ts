// Listening sockets: net.Server binds (workers share ports as processes.ts says), and each
// accepted connection is taken as a bare TCP handle, or as a net.Socket where handles are
// out of reach.
import cluster from "node:cluster";
import net from "node:net";
import type { ClientConnection, Listener, ListenOptions } from "../../core/runtime.ts";
import { clearUnixPath, sharedElsewhere } from "../unix-path.ts";
import { NodeConnection } from "./connection.ts";
import { listenOnFd, serverFd } from "./listen-fd.ts";
import { listensWithReusePort } from "./processes.ts";
import { SocketConnection, socketServer } from "./socket.ts";
import { takeAccepts, type TcpHandle, tcpHandlesUnavailable } from "./tcp-handles.ts";

function ignore(): void {}

export async function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  const path = options.unixPath;
  // A node:cluster worker's listen() goes to the primary, which shares the one it bound; any
  // other worker binds its own, so a path another one serves is left to it.
  if (path !== undefined && (await clearUnixPath(path)) === "live" && options.reusePort && !cluster.isWorker) {
    return sharedElsewhere(path);
  }
  return new Promise((resolve, reject) => {
    // Not pauseOnConnect: a paused socket costs an extra epoll change to start reading, and
    // what a client sends before the relay starts simply waits in the socket's buffer.
    const server = tcpHandlesUnavailable ? socketServer() : net.createServer();
    server.once("error", reject);
    const reusePort = options.reusePort === true && listensWithReusePort();
    // A Unix-domain client reads as nginx shows it: `unix:`, and the listener's `unix:/path`.
    const unix = path !== undefined ? { local: `unix:${path}`, remote: "unix:" } : null;
    const onListening = () => {
      server.off("error", reject);
      server.on("error", ignore);
      let paused = false;
      if (tcpHandlesUnavailable) {
        server.on("connection", (socket) => {
          if (paused) return void socket.destroy();
          if (options.noDelay && !unix) socket.setNoDelay(true);
          onConnection(new SocketConnection(socket, unix) as unknown as ClientConnection);
        });
      } else {
        takeAccepts<TcpHandle>(server, (handle) => {
          // libuv cannot be told to stop accepting on a listening handle, so while paused what
          // it accepts is closed at once: the same thing libuv does itself on EMFILE (its spare
          // descriptor trick), only before the descriptors are all gone.
          if (paused) return handle.close();
          if (unix) return onConnection(new NodeConnection(handle, unix) as unknown as ClientConnection);
          if (options.noDelay) handle.setNoDelay(true);
          onConnection(new NodeConnection(handle) as unknown as ClientConnection);
        });
      }
      resolve({
        host: unix ? unix.local : options.host ?? "0.0.0.0",
        port: unix ? 0 : (server.address() as net.AddressInfo).port,
        // What a binary upgrade passes on: libuv's descriptor of the listening socket.
        fd: serverFd(server),
        // Stops accepting at once; close()'s callback would wait for every live session.
        close: async () => void server.close(),
        pause: () => void (paused = true),
        resume: () => void (paused = false),
      });
    };
    if (path !== undefined) server.listen({ path, backlog: 511 }, onListening);
    // An inherited socket (binary upgrade) is listened on as it is: bound and listening already.
    else if (options.fd !== undefined) listenOnFd(server, options.fd, onListening);
    // nginx's `listen 8000` is 0.0.0.0:8000 (IPv4 only); [::]:8000 must be asked for.
    else server.listen({ port: options.port, host: options.host ?? "0.0.0.0", backlog: 511, reusePort }, onListening);
  });
}
