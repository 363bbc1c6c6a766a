// The relay on TCP handles: each read is written on at once, one buffer in flight per
// direction (as nginx). Sessions on net.Socket streams relay in socket.ts instead.
import { getSystemErrorName } from "node:util";
import type { ClientConnection, RelayEnd, RelayOptions, RelaySink, UpstreamConnection } from "../../core/runtime.ts";
import type { NodeConnection } from "./connection.ts";
import { type PacedSink, Pacer, RateBudget } from "../pace.ts";
import { TwoWayRelay } from "./relay-base.ts";
import { relaySockets, SocketConnection } from "./socket.ts";
import { lastReadBytes, lastReadResult, shutdown, UV_EOF, write } from "./tcp-handles.ts";

/**
 * One direction of a session. Each read is written on at once; when the kernel cannot take
 * all of it, reading stops until the rest is flushed (one buffer in flight, as nginx).
 */
class Direction {
  protected writing = false;
  protected eof = false;
  /** The upstream's direction until its first read returns ($upstream_first_byte_time). */
  protected stampFirstRead: boolean;

  constructor(
    protected readonly relay: HandleRelay,
    protected readonly src: NodeConnection,
    protected readonly dst: NodeConnection,
    protected readonly eofEnd: RelayEnd,
    protected readonly srcError: RelayEnd,
    protected readonly dstError: RelayEnd,
  ) {
    this.stampFirstRead = eofEnd === "upstream_closed";
  }

  /** `first` is written to the destination before anything is read. */
  start(first: Uint8Array | null | undefined): void {
    this.src.handle.onread = this.reader();
    if (first && first.byteLength > 0) {
      const status = write(this.dst.handle, first, this.onFlushed);
      if (status < 0) return this.sendFailed(status);
      this.dst.bytesOut += first.byteLength;
      // Reading starts once the kernel took all of it (onFlushed).
      if (status === 1) return void (this.writing = true);
    }
    this.readAgain();
  }

  readAgain(): void {
    const err = this.src.handle.readStart();
    if (err !== 0) this.recvFailed(err);
  }

  protected recvFailed(errno: number): void {
    this.relay.fail(this.srcError, "recv", getSystemErrorName(errno));
  }

  protected sendFailed(errno: number): void {
    this.relay.fail(this.dstError, "send", getSystemErrorName(errno));
  }

  /** One clock read per session, on the upstream's first read (data, EOF or error, as nginx). */
  protected stampRead(): void {
    this.stampFirstRead = false;
    this.relay.upstreamFirstReadAt = Date.now();
  }

  protected reader(): (buffer: ArrayBuffer | undefined) => void {
    return (buffer) => this.onRead(buffer);
  }

  private onRead(buffer: ArrayBuffer | undefined): void {
    const n = lastReadResult();
    if (this.stampFirstRead && n !== 0) this.stampRead();
    if (n > 0) {
      this.relay.active = true;
      this.src.bytesIn += n;
      const status = write(this.dst.handle, lastReadBytes(buffer!, n), this.onFlushed);
      if (status < 0) return this.sendFailed(status);
      this.dst.bytesOut += n;
      if (status === 1) {
        this.writing = true;
        this.src.handle.readStop();
      }
    } else if (n === UV_EOF) {
      // libuv stops reading after EOF by itself.
      this.eof = true;
      if (!this.writing) this.forwardEof();
    } else if (n < 0) {
      this.recvFailed(n);
    }
  }

  protected readonly onFlushed = (status: number): void => {
    this.writing = false;
    if (this.relay.ended) return;
    if (status < 0) this.sendFailed(status);
    else if (this.eof) this.forwardEof();
    else this.readAgain();
  };

  protected forwardEof(): void {
    // nginx: with proxy_half_close off the session ends once the EOF side's data is flushed
    // (close() still delivers what the kernel took, so no FIN round is needed first).
    if (!this.relay.halfClose) return this.relay.finish(this.eofEnd);
    // With it on, the FIN is forwarded and the session ends when both directions are done.
    const err = shutdown(this.dst.handle, (status) => {
      if (this.relay.ended) return;
      if (status < 0) this.relay.fail(this.dstError, "shutdown", getSystemErrorName(status));
      else if (++this.relay.finishedDirections === 2) this.relay.finish(this.eofEnd);
    });
    if (err < 0) this.relay.fail(this.dstError, "shutdown", getSystemErrorName(err));
  }
}

/**
 * A direction with proxy_upload_rate / proxy_download_rate: each read is held by the Pacer,
 * which writes it on as the budget allows and starts reading again once it is all out and the
 * pause is over. Only rate-limited sessions build one, so the plain Direction stays as it was.
 */
class PacedDirection extends Direction implements PacedSink {
  private readonly pacer: Pacer;

  constructor(
    rate: number,
    relay: HandleRelay,
    src: NodeConnection,
    dst: NodeConnection,
    eofEnd: RelayEnd,
    srcError: RelayEnd,
    dstError: RelayEnd,
  ) {
    super(relay, src, dst, eofEnd, srcError, dstError);
    this.pacer = new Pacer(new RateBudget(rate, src.bytesIn), this);
    (relay.pacers ??= []).push(this.pacer);
  }

  protected override reader(): (buffer: ArrayBuffer | undefined) => void {
    return (buffer) => this.onPacedRead(buffer);
  }

  private onPacedRead(buffer: ArrayBuffer | undefined): void {
    const n = lastReadResult();
    if (this.stampFirstRead && n !== 0) this.stampRead();
    if (n > 0) {
      this.src.handle.readStop();
      // Node allocates a fresh buffer for every read, so the Pacer may keep the view.
      this.pacer.hold(lastReadBytes(buffer!, n));
    } else if (n === UV_EOF) {
      // Reading only runs while the Pacer holds nothing, so everything read is out.
      this.eof = true;
      this.forwardEof();
    } else if (n < 0) {
      this.recvFailed(n);
    }
  }

  forward(bytes: Uint8Array): boolean {
    this.src.bytesIn += bytes.byteLength;
    const status = write(this.dst.handle, bytes, this.onPacedFlushed);
    if (status < 0) {
      this.sendFailed(status);
      return true;
    }
    this.dst.bytesOut += bytes.byteLength;
    return status === 0;
  }

  touch(): void {
    this.relay.active = true;
  }

  private readonly onPacedFlushed = (status: number): void => {
    if (this.relay.ended) return;
    if (status < 0) this.sendFailed(status);
    else this.pacer.flushed();
  };
}

class HandleRelay extends TwoWayRelay<NodeConnection> {
  protected startDirections(): void {
    const o = this.options;
    const up = o.uploadRate;
    const down = o.downloadRate;
    const c = this.client;
    const u = this.upstream;
    (up
      ? new PacedDirection(up, this, c, u, "client_closed", "client_error", "upstream_error")
      : new Direction(this, c, u, "client_closed", "client_error", "upstream_error")).start(o.upstreamFirst);
    if (this.ended) return;
    (down
      ? new PacedDirection(down, this, u, c, "upstream_closed", "upstream_error", "client_error")
      : new Direction(this, u, c, "upstream_closed", "upstream_error", "client_error")).start(null);
  }
}

export function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions, sink: RelaySink): void {
  if (client instanceof SocketConnection) return relaySockets(client, upstream as unknown as SocketConnection, opts, sink);
  new HandleRelay(client as unknown as NodeConnection, upstream as unknown as NodeConnection, opts, sink).start();
}
