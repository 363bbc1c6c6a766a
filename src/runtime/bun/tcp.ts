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
import { type Deadline, Deadlines } from "../../core/deadlines.ts";
import { type BunSocket, newSide, type Side, type UnixNames } from "./connection.ts";
import { relayHandlers } from "./relay.ts";

/** One timer per proxy_connect_timeout value, not a setTimeout per connect. */
const deadlines = new Deadlines((timer) => timer.unref());

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

/**
 * A connect in flight. It rides in the socket's `data` until the socket opens (then a Side
 * takes its place), so every connect shares one handler object: a handler set made per call
 * (closures over this state) stays with the socket for its whole life in Bun.
 */
class PendingConnect {
  settled = false;
  readonly deadline: Deadline;
  constructor(
    readonly options: ConnectOptions,
    readonly unix: UnixNames | null,
    readonly resolve: (c: UpstreamConnection) => void,
    readonly reject: (e: ConnectFailure) => void,
  ) {
    this.deadline = deadlines.add(options.timeoutMs, () => {
      this.settled = true;
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    });
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    deadlines.cancel(this.options.timeoutMs, this.deadline);
    this.reject(toConnectFailure(err, this.options.localAddress));
  }
}

const connectHandlers: SocketHandler<Side> = {
  ...relayHandlers,
  open(s) {
    const p = s.data as unknown as PendingConnect;
    const unix = p.unix;
    s.data = newSide(s, unix);
    if (p.settled) {
      s.end(); // connected after the timeout gave up on it
      return;
    }
    p.settled = true;
    deadlines.cancel(p.options.timeoutMs, p.deadline);
    if (!p.options.noDelay && !unix) s.setNoDelay(false);
    if (p.options.keepAlive && !unix) s.setKeepAlive(true, 0);
    // Not paused: the relay starts in this same turn of the event loop, and anything the
    // upstream sends before that waits in `early`.
    p.resolve(s.data.conn as unknown as UpstreamConnection);
  },
  connectError(s, err) {
    (s.data as unknown as PendingConnect).fail(err);
  },
};

export function connect(target: ConnectTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const path = target.unixPath;
    const unix = path !== undefined ? { local: "unix:", remote: `unix:${path}` } : null;
    const pending = new PendingConnect(options, unix, resolve, reject);
    const data = pending as unknown as Side;
    const connecting = path !== undefined
      ? Bun.connect<Side>({ unix: path, allowHalfOpen: true, data, socket: connectHandlers })
      : Bun.connect<Side>({
        hostname: target.host,
        port: target.port,
        allowHalfOpen: true,
        data,
        socket: connectHandlers,
        // proxy_bind: Bun.connect binds it, though bun-types does not declare the option.
        ...(options.localAddress !== undefined ? ({ localAddress: options.localAddress } as object) : {}),
      });
    connecting.catch((err: unknown) => pending.fail(err));
  });
}

export function toConnectFailure(err: unknown, localAddress: string | undefined): ConnectFailure {
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
