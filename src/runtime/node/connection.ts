// A session's side on a libuv TCP handle (tcp-handles.ts): the Connection the core sees.
import type { Connection } from "../../core/runtime.ts";
import { ReadFailure } from "../../core/runtime.ts";
import { RelayedConnection } from "./relay-base.ts";
import type { SocketName, TcpHandle } from "./tcp-handles.ts";
import { unmapV4 } from "./socket.ts";

export class NodeConnection extends RelayedConnection implements Connection {
  declare readonly __side: "client" & "upstream";

  // The phase I/O (PROXY protocol, preread, return) lands with the adapters' next step.
  read(_timeoutMs: number): Promise<Uint8Array | null> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "read() before the relay is not implemented by this adapter yet"));
  }
  write(_data: Uint8Array): Promise<void> {
    return Promise.reject(new ReadFailure("error", "ENOSYS", "write() before the relay is not implemented by this adapter yet"));
  }
  private peer: SocketName | null = null;
  private local: SocketName | null = null;

  constructor(readonly handle: TcpHandle) {
    super();
  }

  // Addresses are read when asked for: each is a getpeername/getsockname system call, and a
  // round-robin session with logging at "error" asks for none.
  get remoteAddress(): string {
    return unmapV4(this.peerName().address ?? "");
  }
  get remotePort(): number {
    return this.peerName().port ?? 0;
  }
  get localAddress(): string {
    return unmapV4(this.sockName().address ?? "");
  }
  get localPort(): number {
    return this.sockName().port ?? 0;
  }

  private peerName(): SocketName {
    if (!this.peer) {
      this.peer = {};
      if (!this.closed) this.handle.getpeername(this.peer);
    }
    return this.peer;
  }
  private sockName(): SocketName {
    if (!this.local) {
      this.local = {};
      if (!this.closed) this.handle.getsockname(this.local);
    }
    return this.local;
  }

  protected release(): void {
    // (onread is left as it is: Node's setter aborts the process on anything but a function.)
    this.handle.close();
  }
}
