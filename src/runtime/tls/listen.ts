// `listen … ssl` on Node and Deno: a node:net server, whose sockets node:tls can take over
// (Deno's native sockets cannot be handed to a TLS layer after accept; Bun upgrades its native
// ones in place, bun/tls-accept.ts).
import net from "node:net";
import type { ClientConnection, Listener, ListenOptions } from "../../core/runtime.ts";
import { SocketConnection, socketServer } from "../node/socket.ts";
import { listenOnFd, serverFd } from "../node/listen-fd.ts";

export function listenForTls(options: ListenOptions, onConnection: (c: ClientConnection) => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = socketServer();
    server.once("error", reject);
    const onListening = () => {
      server.off("error", reject);
      server.on("error", () => {});
      let paused = false;
      server.on("connection", (socket: net.Socket) => {
        if (paused) return void socket.destroy();
        // Always: a TLS record split by Nagle against a delayed ACK stalls 40 ms (Deno measured).
        socket.setNoDelay(true);
        onConnection(new SocketConnection(socket) as unknown as ClientConnection);
      });
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: options.host ?? "0.0.0.0",
        port: addr.port,
        fd: serverFd(server),
        close: async () => void server.close(),
        pause: () => void (paused = true),
        resume: () => void (paused = false),
      });
    };
    // An inherited socket (the master's, or an upgrade's) is listened on as it is.
    if (options.fd !== undefined) listenOnFd(server, options.fd, onListening);
    else {
      server.listen(
        { port: options.port, host: options.host ?? "0.0.0.0", backlog: 511, reusePort: options.reusePort === true },
        onListening,
      );
    }
  });
}
