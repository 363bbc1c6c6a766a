// Deno's relay: one read/write loop per direction with a buffer of proxy_buffer_size, and
// closeWrite() to forward FIN. Never readable.pipeTo: it closes the whole connection at EOF
// (breaking half-close) and is slow on small messages.
import { ReadFailure } from "../../core/runtime.ts";
import { IdleSweeper } from "../../core/idle.ts";
import type {
  ClientConnection,
  Connection,
  RelayEnd,
  RelayOptions,
  RelayResult,
  UpstreamConnection,
} from "../../core/runtime.ts";

const sweeper = new IdleSweeper();

export class DenoConnection implements Connection {
  declare readonly __side: "client" & "upstream";

  // The phase I/O (PROXY protocol, preread, return) lands with the adapters' next step.
  read(_timeoutMs: number): Promise<Uint8Array | null> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "read() before the relay is not implemented by this adapter yet"));
  }
  write(_data: Uint8Array): Promise<void> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "write() before the relay is not implemented by this adapter yet"));
  }
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  bytesIn = 0;
  bytesOut = 0;
  private closed = false;

  constructor(readonly conn: Deno.TcpConn) {
    const remote = conn.remoteAddr;
    const local = conn.localAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
    this.localAddress = local.hostname;
    this.localPort = local.port;
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

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
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

export function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
  const c = client as unknown as DenoConnection;
  const u = upstream as unknown as DenoConnection;
  return new Promise<RelayResult>((resolve) => {
    let ended: RelayEnd | null = null;
    let halfDone = 0;
    const watch = sweeper.watch(opts.idleTimeoutMs, () => finish("idle_timeout"));

    function finish(end: RelayEnd): void {
      if (ended) return;
      ended = end;
      sweeper.unwatch(opts.idleTimeoutMs, watch);
      c.close();
      u.close();
      resolve({
        end,
        bytesFromClient: c.bytesIn,
        bytesToClient: c.bytesOut,
        bytesFromUpstream: u.bytesIn,
        bytesToUpstream: u.bytesOut,
      });
    }

    async function pump(src: DenoConnection, dst: DenoConnection, fromClient: boolean): Promise<void> {
      const eofEnd: RelayEnd = fromClient ? "client_closed" : "upstream_closed";
      const readError: RelayEnd = fromClient ? "client_error" : "upstream_error";
      const writeError: RelayEnd = fromClient ? "upstream_error" : "client_error";
      const large = Math.max(opts.bufferSize, LARGE_READ);
      const small = new Uint8Array(Math.min(SMALL_READ, opts.bufferSize));
      let buf: Uint8Array = small;
      for (;;) {
        let n: number | null;
        try {
          n = await src.conn.read(buf);
        } catch {
          return finish(readError);
        }
        if (ended) return;
        if (n === null) {
          // The write side is flushed (writes are awaited), so the EOF can go on at once.
          if (!opts.halfClose) return finish(eofEnd);
          try {
            await dst.conn.closeWrite();
          } catch {
            return finish(writeError);
          }
          if (++halfDone === 2) finish(eofEnd);
          return;
        }
        watch.active = true;
        src.bytesIn += n;
        try {
          await writeAll(dst.conn, n === buf.byteLength ? buf : buf.subarray(0, n));
        } catch {
          return finish(writeError);
        }
        dst.bytesOut += n;
        const full = n === buf.byteLength;
        if (buf !== small) giveLarge(buf);
        buf = full ? takeLarge(large) : small;
      }
    }

    void pump(c, u, true);
    void pump(u, c, false);
  });
}
