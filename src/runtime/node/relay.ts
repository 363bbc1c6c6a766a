// The relay on TCP handles: each read is written on at once, one buffer in flight per
// direction (as nginx). Sessions on net.Socket streams relay in socket.ts instead.
import type { ClientConnection, RelayEnd, RelayOptions, RelayResult, UpstreamConnection } from "../../core/runtime.ts";
import type { NodeConnection } from "./connection.ts";
import { type PacedSink, Pacer, RateBudget } from "../pace.ts";
import { TwoWayRelay } from "./relay-base.ts";
import { relaySockets, SocketConnection } from "./socket.ts";
import { lastReadBytes, lastReadResult, shutdown, UV_EOF, write } from "./tcp-handles.ts";

/**
 * One direction of a session. Each read is written on at once; when the kernel cannot take
 * all of it, reading stops until the rest is flushed (one buffer in flight, as nginx).
 */
class Direction implements PacedSink {
  private writing = false;
  private eof = false;

  constructor(
    private readonly relay: HandleRelay,
    private readonly src: NodeConnection,
    private readonly dst: NodeConnection,
    private readonly eofEnd: RelayEnd,
    private readonly srcError: RelayEnd,
    private readonly dstError: RelayEnd,
  ) {}

  /** `first` is written to the destination before anything is read; `rate` paces reading. */
  start(first: Uint8Array | null | undefined, rate: number | undefined): void {
    if (rate) {
      const pacer = new Pacer(new RateBudget(rate, this.src.bytesIn), this);
      this.relay.pacers.push(pacer);
      this.pacer = pacer;
      this.src.handle.onread = (buffer) => this.onPacedRead(buffer);
    } else {
      this.src.handle.onread = (buffer) => this.onRead(buffer);
    }
    if (first && first.byteLength > 0) {
      const status = write(this.dst.handle, first, this.onFlushed);
      if (status < 0) return this.relay.finish(this.dstError);
      this.dst.bytesOut += first.byteLength;
      // Reading starts once the kernel took all of it (onFlushed).
      if (status === 1) return void (this.writing = true);
    }
    if (this.src.handle.readStart() !== 0) this.relay.finish(this.srcError);
  }

  // proxy_upload_rate / proxy_download_rate: each read is held by the Pacer, which writes it
  // on as the budget allows and starts reading again once it is all out and the pause is over.
  private pacer: Pacer | null = null;

  private onPacedRead(buffer: ArrayBuffer | undefined): void {
    const n = lastReadResult();
    if (n > 0) {
      this.src.handle.readStop();
      // Node allocates a fresh buffer for every read, so the Pacer may keep the view.
      this.pacer!.hold(lastReadBytes(buffer!, n));
    } else if (n === UV_EOF) {
      // Reading only runs while the Pacer holds nothing, so everything read is out.
      this.eof = true;
      this.forwardEof();
    } else if (n < 0) {
      this.relay.finish(this.srcError);
    }
  }

  forward(bytes: Uint8Array): boolean {
    this.src.bytesIn += bytes.byteLength;
    const status = write(this.dst.handle, bytes, this.onPacedFlushed);
    if (status < 0) {
      this.relay.finish(this.dstError);
      return true;
    }
    this.dst.bytesOut += bytes.byteLength;
    return status === 0;
  }

  readAgain(): void {
    if (this.src.handle.readStart() !== 0) this.relay.finish(this.srcError);
  }

  touch(): void {
    this.relay.watch.active = true;
  }

  private readonly onPacedFlushed = (status: number): void => {
    if (this.relay.ended) return;
    if (status < 0) this.relay.finish(this.dstError);
    else this.pacer!.flushed();
  };

  private onRead(buffer: ArrayBuffer | undefined): void {
    const n = lastReadResult();
    if (n > 0) {
      this.relay.watch.active = true;
      this.src.bytesIn += n;
      const status = write(this.dst.handle, lastReadBytes(buffer!, n), this.onFlushed);
      if (status < 0) return this.relay.finish(this.dstError);
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
      this.relay.finish(this.srcError);
    }
  }

  private readonly onFlushed = (status: number): void => {
    this.writing = false;
    if (this.relay.ended) return;
    if (status < 0) this.relay.finish(this.dstError);
    else if (this.eof) this.forwardEof();
    else if (this.src.handle.readStart() !== 0) this.relay.finish(this.srcError);
  };

  private forwardEof(): void {
    // nginx: with proxy_half_close off the session ends once the EOF side's data is flushed
    // (close() still delivers what the kernel took, so no FIN round is needed first).
    if (!this.relay.halfClose) return this.relay.finish(this.eofEnd);
    // With it on, the FIN is forwarded and the session ends when both directions are done.
    const err = shutdown(this.dst.handle, (status) => {
      if (this.relay.ended) return;
      if (status < 0) this.relay.finish(this.dstError);
      else if (++this.relay.finishedDirections === 2) this.relay.finish(this.eofEnd);
    });
    if (err < 0) this.relay.finish(this.dstError);
  }
}

class HandleRelay extends TwoWayRelay<NodeConnection> {
  protected startDirections(): void {
    const o = this.options;
    new Direction(this, this.client, this.upstream, "client_closed", "client_error", "upstream_error").start(
      o.upstreamFirst,
      o.uploadRate,
    );
    if (!this.ended) {
      new Direction(this, this.upstream, this.client, "upstream_closed", "upstream_error", "client_error").start(
        null,
        o.downloadRate,
      );
    }
  }
}

export function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
  if (client instanceof SocketConnection) return relaySockets(client, upstream as unknown as SocketConnection, opts);
  const r = new HandleRelay(client as unknown as NodeConnection, upstream as unknown as NodeConnection, opts);
  r.start();
  return r.result;
}
