// Listening and connecting on Deno's native sockets (Deno.listen / Deno.connect).
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
import { connectBound } from "./bound-conn.ts";
import { DenoConnection, type Names } from "./relay.ts";
import { Deadlines } from "../../core/deadlines.ts";

/** One timer per proxy_connect_timeout value, not AbortSignal.timeout's timer per connect. */
const deadlines = new Deadlines((timer) => Deno.unrefTimer(timer as unknown as number));

export async function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  const path = options.unixPath;
  if (path !== undefined && (await clearUnixPath(path)) === "live" && options.reusePort) return sharedElsewhere(path);
  const listener: Deno.Listener = path !== undefined ? Deno.listen({ transport: "unix", path }) : Deno.listen({
    hostname: options.host ?? "0.0.0.0",
    port: options.port,
    transport: "tcp",
    // Needs --unstable-net, which the master gives its workers; a lone process never asks.
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  // A Unix-domain client reads as nginx shows it: `unix:`, and the listener's `unix:/path`.
  const unix: Names | null = path !== undefined
    ? { remoteAddress: "unix:", remotePort: 0, localAddress: `unix:${path}`, localPort: 0 }
    : null;
  let closing = false;
  // While paused, accept() is not called: waiting clients stay in the kernel's backlog.
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  void (async () => {
    for (;;) {
      if (gate) await gate;
      if (closing) return;
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) return;
        continue; // EMFILE and friends: keep accepting
      }
      if (unix) {
        onConnection(new DenoConnection(conn, unix) as unknown as ClientConnection);
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(options.noDelay);
      } catch {
        // the client already went away; the relay will see it
      }
      onConnection(new DenoConnection(conn) as unknown as ClientConnection);
    }
  })();
  return {
    host: unix ? unix.localAddress : options.host ?? "0.0.0.0",
    port: unix ? 0 : (listener.addr as Deno.NetAddr).port,
    close: async () => {
      closing = true;
      open?.();
      listener.close();
    },
    pause: () => {
      gate ??= new Promise((resolve) => (open = resolve));
    },
    resume: () => {
      open?.();
      gate = open = null;
    },
  };
}

export async function connect(target: ConnectTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  const path = target.unixPath;
  if (path !== undefined) {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect(
        { transport: "unix", path, signal: AbortSignal.timeout(options.timeoutMs) } as Deno.UnixConnectOptions,
      );
    } catch (err) {
      throw toConnectFailure(err);
    }
    const names = { remoteAddress: `unix:${path}`, remotePort: 0, localAddress: "unix:", localPort: 0 };
    return new DenoConnection(conn, names) as unknown as UpstreamConnection;
  }
  if (options.localAddress !== undefined) {
    const b = await connectBound(target.host, target.port, options.localAddress, options.timeoutMs, options.noDelay);
    const names = {
      remoteAddress: b.remote.hostname,
      remotePort: b.remote.port,
      localAddress: b.local.hostname,
      localPort: b.local.port,
    };
    return new DenoConnection(b.conn, names) as unknown as UpstreamConnection;
  }
  let conn: Deno.TcpConn;
  const abort = new AbortController();
  const deadline = deadlines.add(options.timeoutMs, () => abort.abort(new DOMException("connect timed out", "TimeoutError")));
  try {
    conn = await Deno.connect({ hostname: target.host, port: target.port, transport: "tcp", signal: abort.signal });
  } catch (err) {
    throw toConnectFailure(err);
  } finally {
    deadlines.cancel(options.timeoutMs, deadline);
  }
  conn.setNoDelay(options.noDelay);
  if (options.keepAlive) conn.setKeepAlive(true);
  return new DenoConnection(conn) as unknown as UpstreamConnection;
}

function toConnectFailure(err: unknown): ConnectFailure {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out");
  }
  if (err instanceof Deno.errors.ConnectionRefused) return new ConnectFailure("refused", "ECONNREFUSED", "Connection refused");
  if (err instanceof Deno.errors.TimedOut) return new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out");
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectFailure("other", "EIO", message);
}
