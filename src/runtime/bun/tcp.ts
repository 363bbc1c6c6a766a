// Listening and connecting on Bun's native sockets (Bun.listen / Bun.connect); every socket
// gets the relay's handlers from the start, so nothing it reads before the relay is lost.
import type { TCPSocketListener } from "bun";
import {
  type ClientConnection,
  ConnectFailure,
  type ConnectOptions,
  type ConnectTarget,
  type Listener,
  type ListenOptions,
  type UpstreamConnection,
} from "../../core/runtime.ts";
import { newSide, relayHandlers, type Side } from "./relay.ts";

export async function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  // An inherited socket (binary upgrade) is taken as it is, the first time; Bun.listen takes
  // `fd` at runtime though bun-types does not declare it.
  let fd = options.fd;
  const open = (): TCPSocketListener<Side> =>
    Bun.listen<Side>({
      hostname: options.host ?? "0.0.0.0",
      port,
      allowHalfOpen: true,
      // Works at runtime, but bun-types declares reusePort on connect options only.
      ...({ reusePort: options.reusePort === true } as object),
      ...(fd === undefined ? {} : ({ fd } as object)),
      socket: {
        ...relayHandlers,
        open(s) {
          s.data = newSide(s);
          // Bun sets TCP_NODELAY on every socket it accepts or connects: only "off" needs a call.
          if (!options.noDelay) s.setNoDelay(false);
          onConnection(s.data.conn as unknown as ClientConnection);
        },
      },
    });
  let port = options.port;
  let listener: TCPSocketListener<Side> | null = open();
  // A listener on an inherited socket knows no port: the configured one is it.
  port = listener.port ?? options.port;
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
    host: options.host ?? "0.0.0.0",
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
      reject(toConnectFailure(err));
    };
    Bun.connect<Side>({
      hostname: target.host,
      port: target.port,
      allowHalfOpen: true,
      socket: {
        ...relayHandlers,
        open(s) {
          s.data = newSide(s);
          if (settled) {
            s.end(); // connected after the timeout gave up on it
            return;
          }
          settled = true;
          clearTimeout(timer);
          if (!options.noDelay) s.setNoDelay(false);
          if (options.keepAlive) s.setKeepAlive(true, 0);
          // Not paused: the relay starts in this same turn of the event loop, and anything
          // the upstream sends before that waits in `early`.
          resolve(s.data.conn as unknown as UpstreamConnection);
        },
        connectError(_s, err) {
          fail(err);
        },
      },
    }).catch(fail);
  });
}

function toConnectFailure(err: unknown): ConnectFailure {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? "EIO";
  if (code === "ECONNREFUSED") return new ConnectFailure("refused", code, "Connection refused");
  if (code === "ETIMEDOUT") return new ConnectFailure("timeout", code, "Connection timed out");
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new ConnectFailure("unreachable", code, e.message ?? code);
  return new ConnectFailure("other", code, e?.message ?? String(err));
}
