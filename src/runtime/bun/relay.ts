// Bun's relay on its native sockets. Bun's write() is unbuffered: it returns how much the
// kernel took, so the relay queues the rest, pauses the source and flushes on `drain`. FIN is
// forwarded with shutdown(), never end() (end() closes both ways).
import type { Socket, SocketHandler } from "bun";
import { ReadFailure } from "../../core/runtime.ts";
import { IdleSweeper, type IdleWatch } from "../../core/idle.ts";
import type {
  ClientConnection,
  Connection,
  RelayEnd,
  RelayOptions,
  RelayResult,
  UpstreamConnection,
} from "../../core/runtime.ts";

const sweeper = new IdleSweeper();

/** Per-socket state Bun hands back to every handler. */
export interface Side {
  conn: BunConnection;
  relay: Relay | null;
  /** Bytes that arrived before the relay started. */
  early: Uint8Array[] | null;
  earlyBytes: number;
  /** Reading is paused (backpressure, or a full early buffer): resume() only then. */
  paused: boolean;
  earlyEof: boolean;
  earlyClose: boolean;
  /** Bytes the kernel did not take yet, oldest first. */
  queue: Uint8Array[];
  /** Peer's FIN seen; forward it once `queue` of the other side is flushed. */
  eof: boolean;
  /** Our FIN forwarded to this socket. */
  shut: boolean;
  bytesIn: number;
  bytesOut: number;
}

export type BunSocket = Socket<Side>;

/** Bun's socket also has these (bun-types 1.4.5 does not declare them). */
type SocketAddresses = { remotePort?: number; localAddress?: string };

class BunConnection implements Connection {
  declare readonly __side: "client" & "upstream";

  // The phase I/O (PROXY protocol, preread, return) lands with the adapters' next step.
  read(_timeoutMs: number): Promise<Uint8Array | null> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "read() before the relay is not implemented by this adapter yet"));
  }
  write(_data: Uint8Array): Promise<void> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "write() before the relay is not implemented by this adapter yet"));
  }
  closed = false;
  // Read when first asked for, then kept: Bun answers each with a getpeername/getsockname
  // system call, and a round-robin session logging at "error" never asks.
  private remoteAddr: string | undefined;
  private remotePortNo: number | undefined;
  private localAddr: string | undefined;
  private localPortNo: number | undefined;

  constructor(readonly socket: BunSocket) {}

  get bytesIn(): number {
    return this.socket.data.bytesIn;
  }
  get bytesOut(): number {
    return this.socket.data.bytesOut;
  }

  get remoteAddress(): string {
    return (this.remoteAddr ??= this.socket.remoteAddress ?? "");
  }
  get remotePort(): number {
    return (this.remotePortNo ??= (this.socket as unknown as SocketAddresses).remotePort ?? 0);
  }
  get localAddress(): string {
    return (this.localAddr ??= (this.socket as unknown as SocketAddresses).localAddress ?? "");
  }
  get localPort(): number {
    return (this.localPortNo ??= this.socket.localPort ?? 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const relay = this.socket.data.relay;
    if (relay) relay.finish("aborted");
    else this.socket.end();
  }
}

export function newSide(socket: BunSocket): Side {
  return {
    conn: new BunConnection(socket),
    relay: null,
    early: null,
    earlyBytes: 0,
    paused: false,
    earlyEof: false,
    earlyClose: false,
    queue: [],
    eof: false,
    shut: false,
    bytesIn: 0,
    bytesOut: 0,
  };
}

class Relay {
  private ended: RelayEnd | null = null;
  private readonly watch: IdleWatch;
  private resolve!: (r: RelayResult) => void;
  readonly done = new Promise<RelayResult>((r) => (this.resolve = r));

  constructor(
    readonly client: BunSocket,
    readonly upstream: BunSocket,
    private readonly opts: RelayOptions,
  ) {
    this.watch = sweeper.watch(opts.idleTimeoutMs, () => this.finish("idle_timeout"));
  }

  start(): void {
    for (const s of [this.client, this.upstream]) {
      const side = s.data;
      side.relay = this;
      const early = side.early;
      side.early = null;
      if (early) { for (const b of early) this.onData(s, b); }
      if (side.earlyClose) return this.finish(s === this.client ? "client_error" : "upstream_error");
      if (side.earlyEof) this.onEnd(s);
    }
    // Only what was paused: each pause/resume is an epoll change, and a resume also arms a
    // writable wake-up (uncork + another epoll change) in Bun.
    if (this.ended) return;
    for (const s of [this.client, this.upstream]) if (s.data.paused && this.peer(s).data.queue.length === 0) resume(s);
  }

  private peer(s: BunSocket): BunSocket {
    return s === this.client ? this.upstream : this.client;
  }

  onData(src: BunSocket, buf: Uint8Array): void {
    this.watch.active = true;
    src.data.bytesIn += buf.byteLength;
    const dst = this.peer(src);
    const q = dst.data.queue;
    if (q.length > 0) {
      q.push(new Uint8Array(buf));
      pause(src);
      return;
    }
    const n = dst.write(buf);
    if (n === buf.byteLength) {
      dst.data.bytesOut += n;
    } else if (n < 0) {
      this.finish(dst === this.client ? "client_error" : "upstream_error");
    } else {
      dst.data.bytesOut += n;
      q.push(buf.slice(n)); // Uint8Array#slice copies: Bun may reuse `buf`
      pause(src);
    }
  }

  /** `dst` can take more: flush its queue, then let its source read again. */
  onDrain(dst: BunSocket): void {
    const q = dst.data.queue;
    while (q.length > 0) {
      const b = q[0]!;
      const n = dst.write(b);
      if (n < 0) return this.finish(dst === this.client ? "client_error" : "upstream_error");
      dst.data.bytesOut += n;
      if (n < b.byteLength) {
        q[0] = b.subarray(n);
        return;
      }
      q.shift();
    }
    const src = this.peer(dst);
    if (src.data.eof) this.afterFlushedEof(src);
    else if (src.data.paused) resume(src);
  }

  onEnd(src: BunSocket): void {
    src.data.eof = true;
    if (this.peer(src).data.queue.length === 0) this.afterFlushedEof(src);
  }

  /** `src` sent FIN and everything it sent has reached its peer. */
  private afterFlushedEof(src: BunSocket): void {
    const end: RelayEnd = src === this.client ? "client_closed" : "upstream_closed";
    if (!this.opts.halfClose) return this.finish(end);
    const dst = this.peer(src);
    if (!dst.data.shut) {
      dst.data.shut = true;
      dst.shutdown();
    }
    if (this.client.data.shut && this.upstream.data.shut) this.finish(end);
  }

  onClose(s: BunSocket): void {
    if (this.ended) return;
    // A close we did not ask for: a reset, or a peer that closed both ways at once.
    const src = s;
    if (src.data.eof && this.opts.halfClose) {
      this.finish(src === this.client ? "client_closed" : "upstream_closed");
    } else {
      this.finish(src === this.client ? "client_error" : "upstream_error");
    }
  }

  finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = end;
    sweeper.unwatch(this.opts.idleTimeoutMs, this.watch);
    const c = this.client.data;
    const u = this.upstream.data;
    this.client.end();
    this.upstream.end();
    this.resolve({
      end,
      bytesFromClient: c.bytesIn,
      bytesToClient: c.bytesOut,
      bytesFromUpstream: u.bytesIn,
      bytesToUpstream: u.bytesOut,
    });
  }
}

function pause(s: BunSocket): void {
  if (s.data.paused) return;
  s.data.paused = true;
  s.pause();
}

function resume(s: BunSocket): void {
  s.data.paused = false;
  s.resume();
}

/**
 * What a socket may read before its relay starts (the client while the upstream connects),
 * like nginx reading into its proxy buffer meanwhile; past it, reading pauses.
 */
const EARLY_LIMIT = 16 * 1024;

// One handler set for every socket: the state lives in socket.data, not in closures.
export const relayHandlers: SocketHandler<Side> = {
  data(s, buf) {
    const side = s.data;
    const relay = side.relay;
    if (relay) return relay.onData(s, buf);
    (side.early ??= []).push(new Uint8Array(buf)); // a copy: Bun may reuse `buf`
    side.earlyBytes += buf.byteLength;
    if (side.earlyBytes >= EARLY_LIMIT) pause(s);
  },
  drain(s) {
    s.data.relay?.onDrain(s);
  },
  end(s) {
    const relay = s.data.relay;
    if (relay) relay.onEnd(s);
    else s.data.earlyEof = true;
  },
  close(s) {
    s.data.conn.closed = true;
    const relay = s.data.relay;
    if (relay) relay.onClose(s);
    else s.data.earlyClose = true;
  },
  error() {
    // close() follows and ends the relay.
  },
};

export function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
  const r = new Relay(
    (client as unknown as BunConnection).socket,
    (upstream as unknown as BunConnection).socket,
    opts,
  );
  r.start();
  return r.done;
}
