// Sessions on net.Socket streams: the way Node's sessions run when its TCP handles are out of
// reach (the permission model blocks process.binding; see tcp-handles.ts). Slower than the
// handles (each session is two Duplex streams), but on public API only.
import net from "node:net";
import {
  ConnectFailure,
  type Connection,
  type ConnectOptions,
  ReadFailure,
  type RelayEnd,
  type RelayOptions,
  type RelayResult,
} from "../../core/runtime.ts";
import { RelayedConnection, TwoWayRelay } from "./relay-base.ts";

export class SocketConnection extends RelayedConnection implements Connection {
  declare readonly __side: "client" & "upstream";

  // The phase I/O (PROXY protocol, preread, return) lands with the adapters' next step.
  read(_timeoutMs: number): Promise<Uint8Array | null> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "read() before the relay is not implemented by this adapter yet"));
  }
  write(_data: Uint8Array): Promise<void> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "write() before the relay is not implemented by this adapter yet"));
  }
  declare relay: SocketRelay | null;

  constructor(readonly socket: net.Socket) {
    super();
    // Before a relay listens, an error (a client's RST) must neither crash the process nor be
    // lost: the relay then starts on a closed connection and ends at once.
    socket.on("error", () => {
      if (this.relay) this.relay.errorOn(this);
      else this.destroy();
    });
  }

  get remoteAddress(): string {
    return unmapV4(this.socket.remoteAddress ?? "");
  }
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }
  get localAddress(): string {
    return unmapV4(this.socket.localAddress ?? "");
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  protected release(): void {
    this.socket.destroy();
  }
}

/** `::ffff:127.0.0.1` (a v4 client on a dual-stack listener) reads as nginx shows it. */
export function unmapV4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** Client sockets as the relay needs them: a peer's FIN must not end our writing side. */
export function socketServer(): net.Server {
  return net.createServer({ allowHalfOpen: true });
}

/** One direction: write each chunk on, pause the source while the destination is full. */
function pipeDirection(relay: SocketRelay, src: SocketConnection, dst: SocketConnection, eofEnd: RelayEnd): void {
  const from = src.socket;
  const to = dst.socket;
  from.on("data", (chunk: Buffer) => {
    relay.watch.active = true;
    src.bytesIn += chunk.length;
    dst.bytesOut += chunk.length;
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  const onEnd = () => {
    if (relay.ended) return;
    // nginx: without proxy_half_close the session ends once the EOF side's data is flushed.
    if (!relay.halfClose) {
      if (to.writableLength === 0) relay.finish(eofEnd);
      else to.once("drain", () => relay.finish(eofEnd));
      return;
    }
    // With it, the FIN is forwarded once flushed; the session ends when both directions are done.
    to.end(() => {
      if (!relay.ended && ++relay.finishedDirections === 2) relay.finish(eofEnd);
    });
  };
  // A peer that sent its FIN before the relay began (a TLS client that closes right after
  // the handshake, while the upstream connects) has had its 'end' already.
  if (from.readableEnded) onEnd();
  else from.on("end", onEnd);
}

export class SocketRelay extends TwoWayRelay<SocketConnection> {
  protected startDirections(): void {
    pipeDirection(this, this.client, this.upstream, "client_closed");
    pipeDirection(this, this.upstream, this.client, "upstream_closed");
  }

  errorOn(side: SocketConnection): void {
    this.finish(side === this.client ? "client_error" : "upstream_error");
  }
}

export function relaySockets(client: SocketConnection, upstream: SocketConnection, opts: RelayOptions): Promise<RelayResult> {
  const r = new SocketRelay(client, upstream, opts.idleTimeoutMs, opts.halfClose);
  r.start();
  return r.result;
}

/** Connects to an address literal; rejects with a ConnectFailure. */
export function connectSocket(
  host: string,
  port: number,
  options: ConnectOptions,
  toFailure: (code: string, where: string) => ConnectFailure,
): Promise<SocketConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: options.noDelay, keepAlive: options.keepAlive });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    }, options.timeoutMs);
    const failed = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(toFailure(err.code ?? "EIO", `${host}:${port}`));
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", failed);
      resolve(new SocketConnection(socket));
    });
  });
}
