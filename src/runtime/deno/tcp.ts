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
import { DenoConnection } from "./relay.ts";

export async function listen(options: ListenOptions, onConnection: (connection: ClientConnection) => void): Promise<Listener> {
  const listener = Deno.listen({
    hostname: options.host ?? "0.0.0.0",
    port: options.port,
    transport: "tcp",
    // Needs --unstable-net, which the master gives its workers; a lone process never asks.
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  let closing = false;
  // While paused, accept() is not called: waiting clients stay in the kernel's backlog.
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  void (async () => {
    for (;;) {
      if (gate) await gate;
      if (closing) return;
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) return;
        continue; // EMFILE and friends: keep accepting
      }
      try {
        conn.setNoDelay(options.noDelay);
      } catch {
        // the client already went away; the relay will see it
      }
      onConnection(new DenoConnection(conn) as unknown as ClientConnection);
    }
  })();
  return {
    host: options.host ?? "0.0.0.0",
    port: listener.addr.port,
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
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: target.host,
      port: target.port,
      transport: "tcp",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    throw toConnectFailure(err);
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
