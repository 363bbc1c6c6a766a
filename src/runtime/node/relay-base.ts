// What both Node relays share (TCP handles in relay.ts, net.Socket streams in socket.ts): a
// session ends once, closes both sides, reports its byte counts, and has one idle watch.
import { IdleSweeper, type IdleWatch } from "../../core/idle.ts";
import type { RelayEnd, RelayError, RelayOptions, RelaySink } from "../../core/runtime.ts";
import type { Pacer } from "../pace.ts";

const sweeper = new IdleSweeper();

/** A side of a session as a relay drives it: byte counts, and closing once. */
export abstract class RelayedConnection {
  bytesIn = 0;
  bytesOut = 0;
  closed = false;
  /** The relay moving this connection's bytes, once it runs: close() ends it. */
  relay: { finish(end: RelayEnd): void } | null = null;

  close(): void {
    if (this.relay) this.relay.finish("aborted");
    else this.destroy();
  }

  /** Closes at once; anything the kernel already took is still delivered. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  /** Closes the socket under this connection; called once. */
  protected abstract release(): void;
}

/** A relay is its own IdleWatch: one object (and no closure) less per session. */
export abstract class TwoWayRelay<C extends RelayedConnection & { readonly remoteAddress: string }> implements IdleWatch {
  ended: RelayEnd | null = null;
  /** Directions whose FIN went on (proxy_half_close on): the second one ends the session. */
  finishedDirections = 0;
  /** IdleWatch: set whenever bytes move. */
  active = false;
  idleMs = 0;
  readonly halfClose: boolean;
  /** Rate-limited directions (proxy_upload_rate, proxy_download_rate); usually none. */
  pacers: Pacer[] | null = null;
  /** Set by the upstream's first read ($upstream_first_byte_time). */
  upstreamFirstReadAt = -1;
  private readonly idleTimeoutMs: number;

  constructor(
    protected readonly client: C,
    protected readonly upstream: C,
    protected readonly options: RelayOptions,
    private readonly sink: RelaySink,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.halfClose = options.halfClose;
    sweeper.add(this.idleTimeoutMs, this);
  }

  // nginx stops proxy_timeout while a rate pause runs, however long the pause.
  onIdle(): void {
    if (this.pacers?.some((p) => p.pausing)) {
      this.idleMs = 0;
      sweeper.add(this.idleTimeoutMs, this);
    } else {
      this.finish("idle_timeout");
    }
  }

  start(): void {
    // A side that closed while the upstream was being connected ends the session at once.
    if (this.client.closed) return this.finish("client_error");
    if (this.upstream.closed) return this.finish("upstream_error");
    this.client.relay = this;
    this.upstream.relay = this;
    this.startDirections();
  }

  /** Starts moving bytes both ways; may end the relay before it returns. */
  protected abstract startDirections(): void;

  /** Ends on a failed system call on `end`'s side, which the session logs as nginx does. */
  fail(end: RelayEnd, op: RelayError["op"], code: string): void {
    this.finish(end, { op, code });
  }

  finish(end: RelayEnd, error?: RelayError): void {
    if (this.ended) return;
    this.ended = end;
    sweeper.unwatch(this.idleTimeoutMs, this);
    if (this.pacers) { for (const p of this.pacers) p.stop(); }
    // The session's error line names the client, whose address cannot be asked once closed.
    if (error) void this.client.remoteAddress;
    this.client.destroy();
    this.upstream.destroy();
    this.sink.relayEnded({
      end,
      bytesFromClient: this.client.bytesIn,
      bytesToClient: this.client.bytesOut,
      bytesFromUpstream: this.upstream.bytesIn,
      bytesToUpstream: this.upstream.bytesOut,
      upstreamFirstReadAt: this.upstreamFirstReadAt,
      error,
    });
  }
}
