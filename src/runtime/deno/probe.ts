// Runtime.probe on Deno's native sockets: connect with an abort signal, write, read into a
// pooled buffer (a thousand checks a second must not allocate a proxy_buffer_size each), and
// one timer that ends whatever stage the probe is in by closing the connection.
import type { ConnectTarget, ProbeOptions, ProbeResult } from "../../core/runtime.ts";
import { ABORTED, CONNECT_TIMEOUT, OK_EMPTY, REFUSED, REPLY_TIMEOUT } from "../probe-results.ts";

/** Free read buffers by size; a probe takes one and gives it back when it ends. */
const pool = new Map<number, Uint8Array[]>();
const POOL_CAP = 64;

function takeBuffer(size: number): Uint8Array {
  return pool.get(size)?.pop() ?? new Uint8Array(size);
}

function giveBack(buf: Uint8Array): void {
  let free = pool.get(buf.byteLength);
  if (!free) pool.set(buf.byteLength, free = []);
  if (free.length < POOL_CAP) free.push(buf);
}

export async function probeDeno(target: ConnectTarget, options: ProbeOptions): Promise<ProbeResult> {
  if (options.signal?.aborted) return ABORTED;
  const ac = new AbortController();
  let conn: Deno.Conn | null = null;
  let ended: "timeout" | "aborted" | null = null;
  const stop = (why: "timeout" | "aborted") => {
    ended ??= why;
    ac.abort();
    try {
      conn?.close();
    } catch {
      // already closed
    }
  };
  const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort);
  let buf: Uint8Array | null = null;
  try {
    try {
      conn = target.unixPath !== undefined
        ? await Deno.connect({ transport: "unix", path: target.unixPath, signal: ac.signal } as Deno.UnixConnectOptions)
        : await Deno.connect({ hostname: target.host, port: target.port, transport: "tcp", signal: ac.signal });
    } catch (err) {
      return ended === "aborted" ? ABORTED : ended === "timeout" ? CONNECT_TIMEOUT : failure(err);
    }
    if (ended) return ended === "aborted" ? ABORTED : CONNECT_TIMEOUT;
    try {
      const send = options.send;
      if (send) { for (let off = 0; off < send.byteLength;) off += await conn.write(send.subarray(off)); }
      if (options.maxBytes === 0) return OK_EMPTY;
      buf = takeBuffer(options.maxBytes);
      let length = 0;
      while (length < buf.byteLength) {
        const n = await conn.read(buf.subarray(length));
        if (n === null) break;
        length += n;
        if (options.enough(buf.subarray(0, length))) break;
      }
      // Copied out: the buffer goes back to the pool.
      return length ? { kind: "ok", received: buf.slice(0, length) } : OK_EMPTY;
    } catch (err) {
      return ended === "aborted" ? ABORTED : ended === "timeout" ? REPLY_TIMEOUT : failure(err);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (buf) giveBack(buf);
    try {
      conn?.close();
    } catch {
      // closed by stop()
    }
  }
}

function failure(err: unknown): ProbeResult {
  if (err instanceof Deno.errors.ConnectionRefused) return REFUSED;
  if (err instanceof Deno.errors.TimedOut) return CONNECT_TIMEOUT;
  const code = err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : "EIO";
  return { kind: "error", code, detail: err instanceof Error ? err.message : String(err) };
}
