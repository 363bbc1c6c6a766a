// A session's side on Bun's native sockets: the state Bun hands back to every handler, and the
// Connection the core sees, with the phases' reads and writes before the relay (relay.ts).
import type { Socket } from "bun";
import { type Connection, ReadFailure } from "../../core/runtime.ts";
import type { Pacer } from "../pace.ts";

/**
 * Per-socket state Bun hands back to every handler. `R` is relay.ts's Relay: named by a
 * parameter so this file need not import the relay that imports it.
 */
export interface Side<R extends { finish(end: "aborted"): void } = { finish(end: "aborted"): void }> {
  conn: BunConnection;
  relay: R | null;
  /** Bytes that arrived before the relay started. */
  early: Uint8Array[] | null;
  earlyBytes: number;
  /** Reading is paused (backpressure, or a full early buffer): resume() only then. */
  paused: boolean;
  earlyEof: boolean;
  earlyClose: boolean;
  /** Bytes the kernel did not take yet, oldest first; null until a write is short (most never are). */
  queue: Uint8Array[] | null;
  /** Peer's FIN seen; forward it once `queue` of the other side is flushed. */
  eof: boolean;
  /** Our FIN forwarded to this socket. */
  shut: boolean;
  bytesIn: number;
  bytesOut: number;
  /** A read() waiting for bytes (the phases before the relay). */
  reader: PendingRead | null;
  /** write()s whose rest waits in `queue` for `drain`, oldest first. */
  writers: PendingWrite[] | null;
  /** This direction's proxy_upload_rate / proxy_download_rate, when it has one. */
  pacer: Pacer | null;
}

interface PendingRead {
  resolve(chunk: Uint8Array | null): void;
  reject(err: ReadFailure): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface PendingWrite {
  resolve(): void;
  reject(err: ReadFailure): void;
}

/** The names nginx gives a Unix-domain socket's ends: `unix:` for a client, `unix:/path` for the listener. */
export interface UnixNames {
  readonly local: string;
  readonly remote: string;
}

export type BunSocket = Socket<Side>;

/** Bun's socket also has these (bun-types 1.4.5 does not declare them). */
type SocketAddresses = { remotePort?: number; localAddress?: string };

export class BunConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  closed = false;
  // Read when first asked for, then kept: Bun answers each with a getpeername/getsockname
  // system call, and a round-robin session logging at "error" never asks.
  private remoteAddr: string | undefined;
  private remotePortNo: number | undefined;
  private localAddr: string | undefined;
  private localPortNo: number | undefined;

  constructor(
    readonly socket: BunSocket,
    /** A Unix-domain socket's names (a TLS socket over this one takes them on). */
    readonly unix: UnixNames | null,
  ) {
    if (unix) {
      this.remoteAddr = unix.remote;
      this.localAddr = unix.local;
      this.remotePortNo = this.localPortNo = 0;
    }
  }

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

  /**
   * Bun's handlers are per listener, so reading is the `data` handler's: what it got while no
   * read waited is in `early`, and goes first; after a read, bytes gather in `early` again.
   */
  read(timeoutMs: number): Promise<Uint8Array | null> {
    const s = this.socket;
    const side = s.data;
    return new Promise((resolve, reject) => {
      const chunk = side.early?.shift();
      if (chunk) {
        side.earlyBytes -= chunk.byteLength;
        side.bytesIn += chunk.byteLength;
        return resolve(chunk);
      }
      if (side.earlyEof) return resolve(null);
      if (side.earlyClose || this.closed) return reject(new ReadFailure("error", "ECONNRESET", "the connection was closed"));
      const reader: PendingRead = { resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        reader.timer = setTimeout(() => {
          side.reader = null;
          pause(s);
          reject(new ReadFailure("timeout", "ETIMEDOUT", "timed out"));
        }, timeoutMs);
      }
      side.reader = reader;
      if (side.paused) resume(s);
    });
  }

  write(data: Uint8Array): Promise<void> {
    const s = this.socket;
    const side = s.data;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ReadFailure("error", "EPIPE", "the connection is closed"));
      const n = side.queue?.length ? 0 : s.write(data);
      if (n < 0) return reject(new ReadFailure("error", "EPIPE", "the connection is closed"));
      side.bytesOut += n;
      if (n === data.byteLength) return resolve();
      (side.queue ??= []).push(data.slice(n)); // a copy: the caller may reuse `data` once this resolves
      (side.writers ??= []).push({ resolve, reject });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const relay = this.socket.data.relay;
    if (relay) relay.finish("aborted");
    else this.socket.end();
  }
}

/** A write() before the relay could go on: flush its rest. */
export function flushWrite(s: BunSocket): void {
  const side = s.data;
  const q = side.queue;
  while (q !== null && q.length > 0) {
    const b = q[0]!;
    const n = s.write(b);
    if (n < 0) return failWrite(side);
    side.bytesOut += n;
    if (n < b.byteLength) return void (q[0] = b.subarray(n));
    q.shift();
  }
  const writers = side.writers;
  side.writers = null;
  if (writers) { for (const w of writers) w.resolve(); }
}

export function failWrite(side: Side): void {
  const writers = side.writers;
  side.writers = null;
  if (writers) { for (const w of writers) w.reject(new ReadFailure("error", "EPIPE", "the connection was closed")); }
}

export function newSide(socket: BunSocket, unix: UnixNames | null = null): Side {
  return {
    conn: new BunConnection(socket, unix),
    relay: null,
    early: null,
    earlyBytes: 0,
    paused: false,
    earlyEof: false,
    earlyClose: false,
    queue: null,
    eof: false,
    shut: false,
    bytesIn: 0,
    bytesOut: 0,
    reader: null,
    writers: null,
    pacer: null,
  };
}

export function pause(s: BunSocket): void {
  if (s.data.paused) return;
  s.data.paused = true;
  s.pause();
}

export function resume(s: BunSocket): void {
  s.data.paused = false;
  s.resume();
}
