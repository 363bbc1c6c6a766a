// A native Bun socket as a node stream, for the few sessions that must meet node:tls: a TLS
// setup Bun's native handshake does not take (node:tls then runs over this stream), and a
// backend on node:tls (proxy_ssl) beside a native client (the stream relay then runs over
// both). The common paths (plain, and TLS the native handshake takes) never come here.
import type net from "node:net";
import { Duplex } from "node:stream";
import type { RelayEnd } from "../../core/runtime.ts";
import { SocketConnection } from "../node/socket.ts";
import type { BunConnection, BunSocket } from "./connection.ts";
import { pause, resume } from "./connection.ts";

/** An error as node:net gives one, so the stream relay names the failed call as nginx does. */
function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
}

export class NativeDuplex extends Duplex {
  /** What the kernel did not take of the last write, and that write's callback. */
  private rest: Uint8Array | null = null;
  private written: ((err?: Error | null) => void) | null = null;
  /** The stream relay's side over this stream: an abort from the core ends that relay. */
  owner: SocketConnection | null = null;

  constructor(private readonly conn: BunConnection) {
    super({ allowHalfOpen: true, decodeStrings: false });
    const s = conn.socket;
    const side = s.data;
    // From here on the socket's events come to this stream (relay.ts's handlers call a relay).
    side.relay = this as unknown as typeof side.relay;
    const early = side.early;
    side.early = null;
    side.earlyBytes = 0;
    if (early) { for (const b of early) this.push(b); }
    if (side.earlyClose || conn.closed) this.destroy(systemError("ECONNRESET", "read"));
    else if (side.earlyEof) this.push(null);
    else if (side.paused) resume(s);
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }
  get remotePort(): number {
    return this.conn.remotePort;
  }
  get localAddress(): string {
    return this.conn.localAddress;
  }
  get localPort(): number {
    return this.conn.localPort;
  }

  // relay.ts's handlers, as a relay gets them.
  onData(s: BunSocket, buf: Uint8Array): void {
    s.data.bytesIn += buf.byteLength;
    // A copy: Bun may reuse `buf`.
    if (!this.push(Buffer.from(buf))) pause(s);
  }
  onDrain(s: BunSocket): void {
    const rest = this.rest;
    if (rest === null) return;
    const n = s.write(rest);
    if (n < 0) return this.wrote(systemError("EPIPE", "write"));
    s.data.bytesOut += n;
    if (n < rest.byteLength) this.rest = rest.subarray(n);
    else this.wrote(null);
  }
  onEnd(): void {
    this.push(null);
  }
  onClose(_s: BunSocket, err: unknown): void {
    const e = err as { code?: unknown; syscall?: unknown } | undefined;
    if (typeof e?.code === "string") this.destroy(systemError(e.code, typeof e.syscall === "string" ? e.syscall : "read"));
    else if (!this.readableEnded) this.destroy(systemError("ECONNRESET", "read"));
    else this.destroy();
  }
  finish(_end: RelayEnd): void {
    if (this.owner) this.owner.close();
    else this.destroy();
  }

  override _read(): void {
    const s = this.conn.socket;
    if (s.data.paused) resume(s);
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const s = this.conn.socket;
    const n = s.write(chunk);
    if (n < 0) return done(systemError("EPIPE", "write"));
    s.data.bytesOut += n;
    if (n === chunk.byteLength) return done();
    this.rest = chunk.subarray(n);
    this.written = done;
  }

  override _final(done: (err?: Error | null) => void): void {
    this.conn.socket.shutdown();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.conn.closed = true;
    this.conn.socket.end();
    this.wrote(err ?? systemError("EPIPE", "write"));
    done(err);
  }

  private wrote(err: Error | null): void {
    const written = this.written;
    this.rest = null;
    this.written = null;
    written?.(err);
  }
}

/** A native connection as the stream relay's side, its byte counts carried on. */
export function asStreamConnection(conn: BunConnection): SocketConnection {
  const stream = new NativeDuplex(conn);
  const side = new SocketConnection(stream as unknown as net.Socket);
  side.bytesIn = conn.bytesIn;
  side.bytesOut = conn.bytesOut;
  stream.owner = side;
  return side;
}
