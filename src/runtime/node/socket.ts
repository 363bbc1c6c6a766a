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
  type RelaySink,
} from "../../core/runtime.ts";
import { Pacer, RateBudget } from "../pace.ts";
import { RelayedConnection, TwoWayRelay } from "./relay-base.ts";

/** A Unix-domain socket's sides as nginx names them: `unix:` for the client, `unix:/path` for the listener. */
export interface UnixNames {
  readonly local: string;
  readonly remote: string;
}

export class SocketConnection extends RelayedConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  declare relay: SocketRelay | null;

  constructor(
    readonly socket: net.Socket,
    private readonly unix: UnixNames | null = null,
  ) {
    super();
    // Before a relay listens, an error (a client's RST) must neither crash the process nor be
    // lost: the relay then starts on a closed connection and ends at once.
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (this.relay) this.relay.errorOn(this, err);
      else this.destroy();
    });
  }

  read(timeoutMs: number): Promise<Uint8Array | null> {
    const s = this.socket;
    return new Promise((resolve, reject) => {
      if (this.closed || s.destroyed) return reject(new ReadFailure("error", "EBADF", "the connection is closed"));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        clearTimeout(timer);
        s.off("readable", onReadable).off("end", onEnd).off("error", onError).off("close", onClose);
      };
      // A paused stream keeps what arrives in its buffer for the next read or the relay.
      const onReadable = () => {
        const chunk = s.read() as Buffer | null;
        if (chunk === null) return; // at EOF 'end' follows
        settle();
        this.bytesIn += chunk.byteLength;
        resolve(chunk);
      };
      const onEnd = () => (settle(), resolve(null));
      const onError = (
        err: NodeJS.ErrnoException,
      ) => (settle(), reject(new ReadFailure("error", err.code ?? "EIO", err.message)));
      const onClose = () => (settle(), reject(new ReadFailure("error", "ECONNRESET", "the connection was closed")));
      s.on("readable", onReadable).on("end", onEnd).on("error", onError).on("close", onClose);
      if (timeoutMs > 0) {
        timer = setTimeout(() => (settle(), reject(new ReadFailure("timeout", "ETIMEDOUT", "timed out"))), timeoutMs);
      }
    });
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.socket.destroyed) return reject(new ReadFailure("error", "EBADF", "the connection is closed"));
      this.bytesOut += data.byteLength;
      this.socket.write(
        data,
        (err) => (err ? reject(new ReadFailure("error", (err as NodeJS.ErrnoException).code ?? "EIO", err.message)) : resolve()),
      );
    });
  }

  get remoteAddress(): string {
    return this.unix ? this.unix.remote : unmapV4(this.socket.remoteAddress ?? "");
  }
  get remotePort(): number {
    return this.unix ? 0 : this.socket.remotePort ?? 0;
  }
  get localAddress(): string {
    return this.unix ? this.unix.local : unmapV4(this.socket.localAddress ?? "");
  }
  get localPort(): number {
    return this.unix ? 0 : this.socket.localPort ?? 0;
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

const EMPTY = new Uint8Array(0);

/**
 * One direction: write each chunk on, pause the source while the destination is full; `first`
 * goes to the destination before anything else, and a rate paces reading (pace.ts).
 */
function pipeDirection(
  relay: SocketRelay,
  src: SocketConnection,
  dst: SocketConnection,
  eofEnd: RelayEnd,
  first: Uint8Array | null,
  rate: number,
): void {
  const from = src.socket;
  const to = dst.socket;
  const fromUpstream = eofEnd === "upstream_closed";
  let endPending = false;
  const onEnd = () => {
    if (fromUpstream) relay.stampFirstRead();
    if (relay.ended) return;
    if (pacer?.busy) return void (endPending = true); // the held bytes go first
    // nginx: without proxy_half_close the session ends once the EOF side's data is flushed.
    if (!relay.halfClose) {
      const flushed = () => relay.finish(eofEnd);
      if (to.writableLength === 0) flushed();
      else if (to.writableNeedDrain) to.once("drain", flushed);
      // 'drain' comes only after a write() that returned false; a TLS socket holds bytes
      // while it encrypts without that, so its last callback is what says they are out.
      else to.write(EMPTY, flushed);
      return;
    }
    // With it, the FIN is forwarded once flushed; the session ends when both directions are done.
    to.end(() => {
      if (!relay.ended && ++relay.finishedDirections === 2) relay.finish(eofEnd);
    });
  };
  const pacer = rate > 0
    ? new Pacer(new RateBudget(rate, src.bytesIn), {
      forward: (bytes) => {
        src.bytesIn += bytes.byteLength;
        dst.bytesOut += bytes.byteLength;
        return to.write(bytes);
      },
      readAgain: () => (endPending ? onEnd() : from.resume()),
      touch: () => void (relay.active = true),
    })
    : null;
  if (pacer) (relay.pacers ??= []).push(pacer);
  let held = false;
  if (first && first.byteLength > 0) {
    dst.bytesOut += first.byteLength;
    if (!to.write(first)) held = true;
  }
  if (held) from.pause();
  // Registered first, so it runs before the relaying listener, and only once.
  if (fromUpstream) from.once("data", () => relay.stampFirstRead());
  from.on(
    "data",
    pacer
      ? (chunk: Buffer) => {
        from.pause();
        pacer.hold(chunk);
      }
      : (chunk: Buffer) => {
        relay.active = true;
        src.bytesIn += chunk.length;
        dst.bytesOut += chunk.length;
        if (!to.write(chunk)) from.pause();
      },
  );
  to.on("drain", pacer ? () => pacer.flushed() : () => from.resume());
  // A peer that sent its FIN before the relay began (a TLS client that closes right after
  // the handshake, while the upstream connects) has had its 'end' already.
  if (from.readableEnded) onEnd();
  else from.on("end", onEnd);
  // A read() before the relay may have left the stream neither flowing nor paused by us.
  if (!held && from.readableFlowing !== true) from.resume();
}

export class SocketRelay extends TwoWayRelay<SocketConnection> {
  protected startDirections(): void {
    const o = this.options;
    pipeDirection(this, this.client, this.upstream, "client_closed", o.upstreamFirst ?? null, o.uploadRate ?? 0);
    pipeDirection(this, this.upstream, this.client, "upstream_closed", null, o.downloadRate ?? 0);
  }

  /** The upstream's first read returned ($upstream_first_byte_time); later calls keep the first. */
  stampFirstRead(): void {
    if (this.upstreamFirstReadAt < 0) this.upstreamFirstReadAt = Date.now();
  }

  errorOn(side: SocketConnection, err: NodeJS.ErrnoException): void {
    const op = err.syscall === "write" || err.syscall === "writev" ? "send" : err.syscall === "shutdown" ? "shutdown" : "recv";
    if (side === this.upstream && op === "recv") this.stampFirstRead();
    this.fail(side === this.client ? "client_error" : "upstream_error", op, err.code ?? "EIO");
  }
}

export function relaySockets(client: SocketConnection, upstream: SocketConnection, opts: RelayOptions, sink: RelaySink): void {
  new SocketRelay(client, upstream, opts, sink).start();
}

/** Connects to an address literal or a Unix-domain socket; rejects with a ConnectFailure. */
export function connectSocket(
  target: { readonly host: string; readonly port: number; readonly unixPath?: string },
  options: ConnectOptions,
  toFailure: (code: string, where: string) => ConnectFailure,
): Promise<SocketConnection> {
  return new Promise((resolve, reject) => {
    const path = target.unixPath;
    const socket = path !== undefined ? net.connect({ path, allowHalfOpen: true }) : net.connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: options.noDelay,
      keepAlive: options.keepAlive,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    });
    const where = path !== undefined ? `unix:${path}` : `${target.host}:${target.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    }, options.timeoutMs);
    const failed = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.syscall === "bind") reject(bindFailure(err.code ?? "EIO", options.localAddress ?? ""));
      else reject(toFailure(err.code ?? "EIO", where));
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", failed);
      resolve(new SocketConnection(socket, path !== undefined ? { local: "unix:", remote: where } : null));
    });
  });
}

/** proxy_bind's address could not be bound: nginx logs `bind(ADDR) failed (...)`. */
export function bindFailure(code: string, address: string): ConnectFailure {
  return new ConnectFailure("other", code, `bind(${address}) failed (${code})`);
}
