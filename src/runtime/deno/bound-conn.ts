// proxy_bind on Deno: Deno.connect cannot choose the local address, but Deno's node:net can.
// The socket is dressed as the little of Deno.Conn the relay uses (read into a buffer, write,
// closeWrite, close), so only sessions with proxy_bind pay for the stream underneath.
import net from "node:net";
import { ConnectFailure } from "../../core/runtime.ts";

/** What relay.ts needs of a connection: Deno.TcpConn and Deno.UnixConn have it, and so does BoundConn. */
export type StreamConn = Pick<Deno.Conn, "read" | "write" | "closeWrite" | "close">;

class BoundConn implements StreamConn {
  private chunk: Uint8Array | null = null;
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly socket: net.Socket) {
    // Paused between reads: a chunk waits here until read() takes it, the rest in the kernel.
    socket.on("data", (d: Buffer) => {
      socket.pause();
      this.chunk = d;
      this.notify();
    });
    socket.on("end", () => (this.ended = true, this.notify()));
    socket.on("error", (err) => (this.failed = err, this.notify()));
    socket.on("close", () => (this.ended = true, this.notify()));
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (!this.chunk) {
      if (this.failed) throw this.failed;
      if (this.ended) return null;
      this.socket.resume();
      await new Promise<void>((r) => (this.wake = r));
    }
    const chunk = this.chunk;
    const n = Math.min(p.byteLength, chunk.byteLength);
    p.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
    this.chunk = n === chunk.byteLength ? null : chunk.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    // Resolves once flushed to the kernel, so the caller may reuse `p` then.
    return new Promise((resolve, reject) => this.socket.write(p, (err) => (err ? reject(err) : resolve(p.byteLength))));
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Bound {
  readonly conn: StreamConn;
  readonly local: { hostname: string; port: number };
  readonly remote: { hostname: string; port: number };
}

/** Connects from `localAddress`; rejects with a ConnectFailure (`bind(...) failed` for the bind). */
export function connectBound(
  host: string,
  port: number,
  localAddress: string,
  timeoutMs: number,
  noDelay: boolean,
): Promise<Bound> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress, allowHalfOpen: true, noDelay });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    }, timeoutMs);
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code ?? "EIO";
      if (err.syscall === "bind" || code === "EADDRNOTAVAIL") {
        reject(new ConnectFailure("other", code, `bind(${localAddress}) failed (${code})`));
      } else if (code === "ECONNREFUSED") reject(new ConnectFailure("refused", code, "Connection refused"));
      else reject(new ConnectFailure("other", code, `connect ${code} ${host}:${port}`));
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve({
        conn: new BoundConn(socket),
        local: { hostname: socket.localAddress ?? localAddress, port: socket.localPort ?? 0 },
        remote: { hostname: host, port },
      });
    });
  });
}
