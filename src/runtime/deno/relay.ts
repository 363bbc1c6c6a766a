// Deno's relay: one read/write loop per direction with a buffer of proxy_buffer_size, and
// closeWrite() to forward FIN. Never readable.pipeTo: it closes the whole connection at EOF
// (breaking half-close) and is slow on small messages.
import { ReadFailure } from "../../core/runtime.ts";
import { IdleSweeper } from "../../core/idle.ts";
import { RateBudget } from "../pace.ts";
import type { StreamConn } from "./bound-conn.ts";
import type {
  ClientConnection,
  Connection,
  RelayEnd,
  RelayError,
  RelayOptions,
  RelaySink,
  UpstreamConnection,
} from "../../core/runtime.ts";

const sweeper = new IdleSweeper();

/** A connection's two ends as nginx names them; Unix-domain sockets read `unix:` and `unix:/path`. */
export interface Names {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** The read in progress: Deno cannot cancel a read, so one that timed out stays here for the next reader. */
interface PendingRead {
  readonly buf: Uint8Array;
  readonly result: Promise<number | null>;
}

/** What one read() before the relay asks for; the phases read a header or a ClientHello. */
const PHASE_READ = 16 * 1024;

export class DenoConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  bytesIn = 0;
  bytesOut = 0;
  private closed = false;
  pending: PendingRead | null = null;

  /** `names` for sockets that have no TCP addresses (Unix-domain) or are not Deno's (proxy_bind). */
  constructor(
    readonly conn: StreamConn,
    names: Names | null = null,
  ) {
    if (names) {
      this.remoteAddress = names.remoteAddress;
      this.remotePort = names.remotePort;
      this.localAddress = names.localAddress;
      this.localPort = names.localPort;
    } else {
      const remote = (conn as Deno.TcpConn).remoteAddr;
      const local = (conn as Deno.TcpConn).localAddr;
      this.remoteAddress = remote.hostname;
      this.remotePort = remote.port;
      this.localAddress = local.hostname;
      this.localPort = local.port;
    }
  }

  async read(timeoutMs: number): Promise<Uint8Array | null> {
    if (this.closed) throw new ReadFailure("error", "EBADF", "the connection is closed");
    let op = this.pending;
    if (!op) {
      const buf = new Uint8Array(PHASE_READ);
      const result = this.conn.read(buf);
      result.catch(() => {}); // awaited below or by the next reader; never unhandled
      op = this.pending = { buf, result };
    }
    let n: number | null;
    try {
      n = timeoutMs > 0 ? await withTimeout(op.result, timeoutMs) : await op.result;
    } catch (err) {
      if (err === TIMED_OUT) throw new ReadFailure("timeout", "ETIMEDOUT", "timed out");
      this.pending = null;
      throw new ReadFailure("error", errorCode(err), err instanceof Error ? err.message : String(err));
    }
    this.pending = null;
    if (n === null) return null;
    this.bytesIn += n;
    return op.buf.slice(0, n); // a copy: the 16 KiB buffer is not kept for a few bytes
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.closed) throw new ReadFailure("error", "EBADF", "the connection is closed");
    try {
      await writeAll(this.conn, data);
    } catch (err) {
      throw new ReadFailure("error", errorCode(err), err instanceof Error ? err.message : String(err));
    }
    this.bytesOut += data.byteLength;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed by the peer
    }
  }
}

const TIMED_OUT = Symbol("timed out");

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(TIMED_OUT), ms)))]).finally(() =>
    clearTimeout(timer)
  );
}

function errorCode(err: unknown): string {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : "EIO";
}

async function writeAll(conn: StreamConn, data: Uint8Array): Promise<void> {
  let off = await conn.write(data);
  while (off < data.byteLength) off += await conn.write(data.subarray(off));
}

// Read buffers. A pending read holds its buffer for as long as the peer stays silent, so an
// idle direction holds only a small one; a read that fills its buffer means more is waiting,
// and the next read takes a large one from a shared pool (returned once written), so bulk
// moves in large reads without every connection owning large buffers. Large is 64 KiB like
// Node's reads (Bun reads up to 512 KiB): half the operations of 16 KiB reads, which on Deno
// doubled bulk throughput; proxy_buffer_size still sets it when larger.
const SMALL_READ = 1024;
const LARGE_READ = 64 * 1024;
const POOL_MAX = 64;
const pool: Uint8Array[] = [];

function takeLarge(size: number): Uint8Array {
  return (size === LARGE_READ && pool.pop()) || new Uint8Array(size);
}

function giveLarge(buf: Uint8Array): void {
  if (buf.byteLength === LARGE_READ && pool.length < POOL_MAX) pool.push(buf);
}

type Pauses = Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>;

/** A rate pause that the relay's end cuts short (no timer outlives its session). */
function pause(ms: number, pauses: Pauses): Promise<void> {
  return new Promise((wake) => {
    const p = {
      timer: setTimeout(() => {
        pauses.delete(p);
        wake();
      }, ms),
      wake,
    };
    pauses.add(p);
  });
}

export function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions, sink: RelaySink): void {
  const c = client as unknown as DenoConnection;
  const u = upstream as unknown as DenoConnection;
  let ended: RelayEnd | null = null;
  let halfDone = 0;
  let upstreamFirstReadAt = -1;
  // Rate pauses (proxy_upload_rate / proxy_download_rate) running now, made only for a
  // session with a rate; nginx stops proxy_timeout meanwhile, however long they are.
  const pauses: Pauses | null = opts.uploadRate || opts.downloadRate ? new Set() : null;
  const onIdle = () => {
    if (pauses && pauses.size > 0) watch = sweeper.watch(opts.idleTimeoutMs, onIdle);
    else finish("idle_timeout");
  };
  let watch = sweeper.watch(opts.idleTimeoutMs, onIdle);

  function fail(end: RelayEnd, op: RelayError["op"], err: unknown): void {
    finish(end, { op, code: errorCode(err) });
  }

  function finish(end: RelayEnd, error?: RelayError): void {
    if (ended) return;
    ended = end;
    sweeper.unwatch(opts.idleTimeoutMs, watch);
    if (pauses) {
      for (const p of pauses) {
        clearTimeout(p.timer);
        p.wake();
      }
      pauses.clear();
    }
    c.close();
    u.close();
    sink.relayEnded({
      end,
      bytesFromClient: c.bytesIn,
      bytesToClient: c.bytesOut,
      bytesFromUpstream: u.bytesIn,
      bytesToUpstream: u.bytesOut,
      upstreamFirstReadAt,
      error,
    });
  }

  async function pump(
    src: DenoConnection,
    dst: DenoConnection,
    fromClient: boolean,
    first: Uint8Array | null | undefined,
    rate: number | undefined,
  ): Promise<void> {
    const eofEnd: RelayEnd = fromClient ? "client_closed" : "upstream_closed";
    const readError: RelayEnd = fromClient ? "client_error" : "upstream_error";
    const writeError: RelayEnd = fromClient ? "upstream_error" : "client_error";
    if (first && first.byteLength > 0) {
      try {
        await writeAll(dst.conn, first);
      } catch (err) {
        return fail(writeError, "send", err);
      }
      if (ended) return;
      dst.bytesOut += first.byteLength;
    }
    // nginx caps each read at what the budget allows, and Deno's reads can be capped too.
    const budget = rate ? new RateBudget(rate, src.bytesIn) : null;
    const large = Math.max(opts.bufferSize, LARGE_READ);
    const small = new Uint8Array(Math.min(SMALL_READ, opts.bufferSize));
    let buf: Uint8Array = small;
    // A read() that timed out before the relay is still running: its bytes come first.
    let pending = src.pending;
    src.pending = null;
    // The upstream's direction until its first read returns ($upstream_first_byte_time).
    let stamp = !fromClient;
    for (;;) {
      let view = buf;
      if (budget && !pending) {
        let allowance = budget.allowance();
        while (allowance <= 0) {
          watch.active = true;
          await pause(budget.waitMs(allowance), pauses!);
          watch.active = true;
          if (ended) return;
          allowance = budget.allowance();
        }
        if (allowance < buf.byteLength) view = buf.subarray(0, allowance);
      }
      let n: number | null;
      try {
        if (pending) {
          view = pending.buf;
          n = await pending.result;
          pending = null;
        } else {
          n = await src.conn.read(view);
        }
      } catch (err) {
        if (stamp) upstreamFirstReadAt = Date.now();
        return fail(readError, "recv", err);
      }
      if (stamp) {
        stamp = false;
        upstreamFirstReadAt = Date.now();
      }
      if (ended) return;
      if (n === null) {
        // The write side is flushed (writes are awaited), so the EOF can go on at once.
        if (!opts.halfClose) return finish(eofEnd);
        try {
          await dst.conn.closeWrite();
        } catch (err) {
          return fail(writeError, "shutdown", err);
        }
        if (++halfDone === 2) finish(eofEnd);
        return;
      }
      watch.active = true;
      src.bytesIn += n;
      try {
        await writeAll(dst.conn, n === view.byteLength ? view : view.subarray(0, n));
      } catch (err) {
        return fail(writeError, "send", err);
      }
      dst.bytesOut += n;
      if (budget) {
        const ms = budget.took(n);
        if (ms > 0) {
          watch.active = true;
          await pause(ms, pauses!);
          watch.active = true;
        }
        if (ended) return;
      }
      const full = n === buf.byteLength;
      if (buf !== small) giveLarge(buf);
      buf = full ? takeLarge(large) : small;
    }
  }

  void pump(c, u, true, opts.upstreamFirst, opts.uploadRate);
  void pump(u, c, false, null, opts.downloadRate);
}
