// A session's side on a libuv TCP or Unix-domain socket handle (tcp-handles.ts): the Connection
// the core sees, with the phases' reads and writes before the relay.
import { getSystemErrorName } from "node:util";
import type { Connection } from "../../core/runtime.ts";
import { ReadFailure } from "../../core/runtime.ts";
import { RelayedConnection } from "./relay-base.ts";
import { type UnixNames, unmapV4 } from "./socket.ts";
import {
  lastReadBytes,
  lastReadResult,
  type SocketName,
  type StreamHandle,
  type TcpHandle,
  UV_EOF,
  write,
} from "./tcp-handles.ts";

export class NodeConnection extends RelayedConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  private peer: SocketName | null = null;
  private local: SocketName | null = null;

  /** `unix`: the names of a Unix-domain socket (a pipe handle has no getpeername). */
  constructor(
    readonly handle: TcpHandle | StreamHandle,
    private readonly unix: UnixNames | null = null,
  ) {
    super();
  }

  read(timeoutMs: number): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ReadFailure("error", "EBADF", "the connection is closed"));
      const handle = this.handle;
      let timer: ReturnType<typeof setTimeout> | undefined;
      handle.onread = (buffer) => {
        const n = lastReadResult();
        if (n === 0) return; // nothing this time (EAGAIN): keep waiting
        handle.readStop();
        clearTimeout(timer);
        if (n > 0) {
          this.bytesIn += n;
          // Node allocates a fresh buffer for every read, so the view can be kept.
          resolve(lastReadBytes(buffer!, n));
        } else if (n === UV_EOF) {
          resolve(null);
        } else {
          reject(readError(n));
        }
      };
      const err = handle.readStart();
      if (err !== 0) return reject(readError(err));
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          handle.readStop();
          reject(new ReadFailure("timeout", "ETIMEDOUT", "timed out"));
        }, timeoutMs);
      }
    });
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ReadFailure("error", "EBADF", "the connection is closed"));
      const status = write(this.handle, data, (s) => (s < 0 ? reject(readError(s)) : resolve()));
      if (status < 0) return reject(readError(status));
      this.bytesOut += data.byteLength;
      if (status === 0) resolve();
    });
  }

  // Addresses are read when asked for: each is a getpeername/getsockname system call, and a
  // round-robin session with logging at "error" asks for none.
  get remoteAddress(): string {
    return this.unix ? this.unix.remote : unmapV4(this.peerName().address ?? "");
  }
  get remotePort(): number {
    return this.unix ? 0 : this.peerName().port ?? 0;
  }
  get localAddress(): string {
    return this.unix ? this.unix.local : unmapV4(this.sockName().address ?? "");
  }
  get localPort(): number {
    return this.unix ? 0 : this.sockName().port ?? 0;
  }

  private peerName(): SocketName {
    if (!this.peer) {
      this.peer = {};
      if (!this.closed) (this.handle as TcpHandle).getpeername(this.peer);
    }
    return this.peer;
  }
  private sockName(): SocketName {
    if (!this.local) {
      this.local = {};
      if (!this.closed) (this.handle as TcpHandle).getsockname(this.local);
    }
    return this.local;
  }

  protected release(): void {
    // (onread is left as it is: Node's setter aborts the process on anything but a function.)
    this.handle.close();
  }
}

function readError(status: number): ReadFailure {
  const code = getSystemErrorName(status);
  return new ReadFailure("error", code, code);
}
