// Listening and connecting on Bun's native sockets (Bun.listen / Bun.connect); every socket
// gets the relay's handlers from the start, so nothing it reads before the relay is lost.
import type { SocketHandler, SocketListener, TCPSocketListener, UnixSocketOptions } from "bun";
import {
  type ClientConnection,
  ConnectFailure,
  type ConnectOptions,
  type ConnectTarget,
  type Listener,
  type ListenOptions,
  type UpstreamConnection,
} from "../../core/runtime.ts";
import { clearUnixPath, sharedElsewhere } from "../unix-path.ts";
import { type BunSocket, newSide, type Side } from "./connection.ts";
import { relayHandlers } from "./relay.ts";

export async function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  const path = options.unixPath;
  if (path !== undefined && (await clearUnixPath(path)) === "live" && options.reusePort) return sharedElsewhere(path);
  // A Unix-domain client reads as nginx shows it: `unix:`, and the listener's `unix:/path`.
  const unix = path !== undefined ? { local: `unix:${path}`, remote: "unix:" } : null;
  const handlers = {
    ...relayHandlers,
    open(s: BunSocket) {
      s.data = newSide(s, unix);
      // Bun sets TCP_NODELAY on every socket it accepts or connects: only "off" needs a call.
      if (!options.noDelay && !unix) s.setNoDelay(false);
      onConnection(s.data.conn as unknown as ClientConnection);
    },
  };
  // An inherited socket (binary upgrade) is taken as it is, the first time; Bun.listen takes
  // `fd` at runtime though bun-types does not declare it.
  let fd = options.fd;
  const open = (): SocketListener<Side> => {
    if (path === undefined) {
      return Bun.listen<Side>({
        hostname: options.host ?? "0.0.0.0",
        port,
        allowHalfOpen: true,
        // Works at runtime, but bun-types declares reusePort on connect options only.
        ...({ reusePort: options.reusePort === true } as object),
        ...(fd === undefined ? {} : ({ fd } as object)),
        socket: handlers,
      });
    }
    return Bun.listen<Side>({ unix: path, allowHalfOpen: true, socket: handlers } as UnixSocketOptions<Side>);
  };
  let port = options.port;
  let listener: SocketListener<Side> | null = open();
  // A listener on an inherited socket knows no port: the configured one is it.
  port = unix ? 0 : (listener as TCPSocketListener<Side>).port ?? options.port;
  fd = undefined; // a pause closes it: resume binds anew
  let closed = false;
  // Bun's loop cannot be told to stop accepting, and on EMFILE it retries the listening socket
  // without end (100% CPU). So a pause closes the listening socket (clients still waiting in
  // its backlog are refused) and resume opens it again on the same port.
  const resume = () => {
    if (closed || listener) return;
    try {
      listener = open();
    } catch {
      setTimeout(resume, 500); // the port is briefly taken, or descriptors are still short
    }
  };
  return {
    host: unix ? unix.local : options.host ?? "0.0.0.0",
    port,
    get fd() {
      return (listener as unknown as { fd?: number } | null)?.fd;
    },
    close: async () => {
      closed = true;
      listener?.stop(false);
      listener = null;
    },
    pause: () => {
      listener?.stop(false);
      listener = null;
    },
    resume,
  };
}

export function connect(target: ConnectTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    }, options.timeoutMs);
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(toConnectFailure(err, options.localAddress));
    };
    const path = target.unixPath;
    const unix = path !== undefined ? { local: "unix:", remote: `unix:${path}` } : null;
    const socket: SocketHandler<Side> = {
      ...relayHandlers,
      open(s) {
        s.data = newSide(s, unix);
        if (settled) {
          s.end(); // connected after the timeout gave up on it
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (!options.noDelay && !unix) s.setNoDelay(false);
        if (options.keepAlive && !unix) s.setKeepAlive(true, 0);
        // Not paused: the relay starts in this same turn of the event loop, and anything
        // the upstream sends before that waits in `early`.
        resolve(s.data.conn as unknown as UpstreamConnection);
      },
      connectError(_s, err) {
        fail(err);
      },
    };
    const connecting = path !== undefined ? Bun.connect<Side>({ unix: path, allowHalfOpen: true, socket }) : Bun.connect<Side>({
      hostname: target.host,
      port: target.port,
      allowHalfOpen: true,
      socket,
      // proxy_bind: Bun.connect binds it, though bun-types does not declare the option.
      ...(options.localAddress !== undefined ? ({ localAddress: options.localAddress } as object) : {}),
    });
    connecting.catch(fail);
  });
}

function toConnectFailure(err: unknown, localAddress: string | undefined): ConnectFailure {
  const e = err as { code?: string; message?: string; syscall?: string };
  const code = e?.code ?? "EIO";
  // A proxy_bind address this host does not have: nginx logs `bind(ADDR) failed (...)`.
  if (localAddress !== undefined && (e?.syscall === "bind" || code === "EADDRNOTAVAIL")) {
    return new ConnectFailure("other", code, `bind(${localAddress}) failed (${code})`);
  }
  if (code === "ECONNREFUSED") return new ConnectFailure("refused", code, "Connection refused");
  if (code === "ETIMEDOUT") return new ConnectFailure("timeout", code, "Connection timed out");
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new ConnectFailure("unreachable", code, e.message ?? code);
  return new ConnectFailure("other", code, e?.message ?? String(err));
}
