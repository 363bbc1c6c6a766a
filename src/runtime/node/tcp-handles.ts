// Node's TCP handles: the libuv layer under net.Socket, reached through process.binding.
//
// Why not net.Socket on the hot path: a net.Socket is a Duplex stream, and each proxied session
// needs two. Measured on the bench machine, a bare net pipe proxy does 5.5k new connections/s
// where the same proxy on these handles does 10k, and 100-connection round trips go from 52k
// to 60k/s: the stream machinery (Readable/Writable state, 'data' events, a WriteWrap and
// callbacks per write) costs more than the bytes. tcp_wrap and stream_wrap are on Node's
// process.binding allow-list on Node 20 to 24 (DEP0111 is documentation-only, a warning only
// under --pending-deprecation); the permission model blocks them, and then index.ts falls back
// to net.Socket (socket.ts).
import net from "node:net";

/** A uv_tcp_t as Node's tcp_wrap exposes it. Methods return 0 or a negative errno. */
export interface TcpHandle {
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
  shutdown(req: ShutdownRequest): number;
  close(callback?: () => void): void;
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  getpeername(out: SocketName): number;
  getsockname(out: SocketName): number;
  connect(req: ConnectRequest, host: string, port: number): number;
  connect6(req: ConnectRequest, host: string, port: number): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
}

/** What TCP and pipe handles share: a libuv stream. */
export type StreamHandle = Pick<TcpHandle, "onread" | "readStart" | "readStop" | "writeBuffer" | "shutdown" | "close">;

/**
 * A uv_pipe_t (Unix-domain socket) as pipe_wrap exposes it: the same stream methods, so the
 * relay drives it like a TCP handle; it has no addresses, no Nagle and no keepalive.
 */
export type PipeHandle = StreamHandle & {
  connect(req: ConnectRequest, path: string): number;
};

export interface SocketName {
  address?: string;
  port?: number;
}

interface WriteRequest {
  oncomplete: ((this: WriteRequest, status: number) => void) | null;
}
interface ShutdownRequest {
  oncomplete: ((this: ShutdownRequest, status: number) => void) | null;
}
interface ConnectRequest {
  oncomplete: ((status: number) => void) | null;
}

interface TcpWrapBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectRequest;
  constants: { SOCKET: number };
}
interface PipeWrapBinding {
  Pipe: new (type: number) => PipeHandle;
  PipeConnectWrap: new () => ConnectRequest;
  constants: { SOCKET: number };
}
interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  ShutdownWrap: new () => ShutdownRequest;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

/**
 * Whether `process.binding` would end the process: with --pending-deprecation it emits DEP0111,
 * and with --throw-deprecation that warning is thrown from the next tick, where no try reaches.
 */
function bindingWouldThrow(): boolean {
  if (!process.throwDeprecation) return false;
  const flags = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)];
  return flags.includes("--pending-deprecation") || process.env["NODE_PENDING_DEPRECATION"] === "1";
}

function loadBindings(): { tcp: TcpWrapBinding; pipe: PipeWrapBinding; stream: StreamWrapBinding } | Error {
  if (bindingWouldThrow()) {
    return new Error(
      "Node's TCP handles (process.binding) are deprecated under --pending-deprecation, and --throw-deprecation would end the process",
    );
  }
  // Deno's Node layer answers process.binding("tcp_wrap"), but its handles are not libuv's:
  // the Node entry run by Deno accepted and then hung every connection. Its net.Socket works.
  if ("Deno" in globalThis) return new Error("Deno's Node layer has no libuv TCP handles");
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    return {
      tcp: binding("tcp_wrap") as TcpWrapBinding,
      pipe: binding("pipe_wrap") as PipeWrapBinding,
      stream: binding("stream_wrap") as StreamWrapBinding,
    };
  } catch (err) {
    // The permission model (--permission) refuses process.binding with ERR_ACCESS_DENIED.
    const e = err as NodeJS.ErrnoException;
    return new Error(`Node refuses its TCP handles: process.binding("tcp_wrap") failed (${e.code ?? e.message})`);
  }
}

const loaded = loadBindings();
/** Why sessions cannot run on TCP handles here (index.ts then uses net.Socket), or null. */
export const tcpHandlesUnavailable: Error | null = loaded instanceof Error ? loaded : null;
// Only used when tcpHandlesUnavailable is null: index.ts runs sessions on net.Socket otherwise.
const { tcp: tcpWrap, pipe: pipeWrap, stream: streamWrap } = loaded instanceof Error
  ? ({ tcp: {}, pipe: {}, stream: {} } as { tcp: TcpWrapBinding; pipe: PipeWrapBinding; stream: StreamWrapBinding })
  : loaded;
const { TCP, TCPConnectWrap } = tcpWrap;
const { Pipe, PipeConnectWrap } = pipeWrap;
const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = streamWrap;

/**
 * Whether this Node's listen() honours `reusePort` (libuv's UV_TCP_REUSEPORT, Node 22.12 and
 * later). Node 20 accepts the option and silently ignores it, so the option itself cannot
 * tell; the flag's constant in tcp_wrap can. Without the bindings, no: node:cluster works everywhere.
 */
export const listenHonoursReusePort: boolean = !(loaded instanceof Error) &&
  typeof (tcpWrap.constants as Record<string, unknown>)["UV_TCP_REUSEPORT"] === "number";

/** libuv's UV_EOF: what a read reports when the peer sent FIN. */
export const UV_EOF = -4095;

/** After a read callback: bytes read (> 0), 0 (nothing, try later), UV_EOF or another negative errno. */
export function lastReadResult(): number {
  return streamBaseState[kReadBytesOrError]!;
}

/** The bytes of the read just reported, as a view on the buffer Node allocated for it. */
export function lastReadBytes(buffer: ArrayBuffer, length: number): Uint8Array {
  return new Uint8Array(buffer, streamBaseState[kArrayBufferOffset], length);
}

/**
 * A write request object is only bound to a native request when the write cannot finish at
 * once, so one spare serves every write that completes synchronously (nearly all of them).
 */
let spareWrite = tcpHandlesUnavailable ? (null as unknown as WriteRequest) : new WriteWrap();

/**
 * Writes `data`: 0 when it was all written at once, 1 when the rest is queued (`done` runs
 * when it is flushed, and `data` must stay unchanged until then), or a negative errno.
 */
export function write(handle: StreamHandle, data: Uint8Array, done: (status: number) => void): number {
  const req = spareWrite;
  const err = handle.writeBuffer(req, data);
  if (err !== 0) return err;
  if (streamBaseState[kLastWriteWasAsync] === 0) return 0;
  spareWrite = new WriteWrap();
  // The native request keeps `req` alive; `data` must outlive the write as well.
  (req as WriteRequest & { data?: Uint8Array }).data = data;
  req.oncomplete = done;
  return 1;
}

/** Sends FIN once queued writes are flushed; `done` gets 0 or a negative errno. */
export function shutdown(handle: StreamHandle, done: (status: number) => void): number {
  const req = new ShutdownWrap();
  req.oncomplete = done;
  return handle.shutdown(req);
}

/**
 * Lets `server` accept, but hands each new connection's handle to `onHandle` instead of
 * building a net.Socket around it. net.Server still does the binding, listen errors and
 * node:cluster's port sharing; in a cluster worker its handle is the one the primary feeds.
 */
export function takeAccepts<H extends StreamHandle>(server: net.Server, onHandle: (handle: H) => void): void {
  const listening =
    (server as unknown as { _handle: { onconnection: (err: number, handle: H | undefined) => void } | null })._handle;
  if (!listening) throw new Error("takeAccepts: the server is not listening");
  listening.onconnection = (err, handle) => {
    // Accept errors (EMFILE...) leave the listener as it is; libuv retries on the next event.
    if (err === 0 && handle) onHandle(handle);
  };
}

/**
 * Starts connecting a new handle to an address literal; `done` gets 0 once connected or a
 * negative errno (UV_ECANCELED when the handle is closed first). With `bind` (proxy_bind), the
 * handle is bound to that local address first, and a failure there goes to `bind.failed`.
 */
export function connectTcp(
  host: string,
  port: number,
  done: (status: number) => void,
  bind?: { readonly address: string; failed(status: number): void },
): TcpHandle {
  const handle = new TCP(tcpWrap.constants.SOCKET);
  if (bind) {
    // Port 0: the kernel picks one, as nginx's proxy_bind without a port.
    const a = bind.address;
    const err = a.includes(":") ? handle.bind6(a, 0, 0) : handle.bind(a, 0);
    if (err !== 0) {
      queueMicrotask(() => bind.failed(err));
      return handle;
    }
  }
  const req = new TCPConnectWrap();
  req.oncomplete = done;
  // The caller resolved names, so a colon means IPv6.
  const err = host.includes(":") ? handle.connect6(req, host, port) : handle.connect(req, host, port);
  if (err !== 0) queueMicrotask(() => done(err));
  return handle;
}

/** Starts connecting a new Unix-domain socket handle to `path`; `done` as for connectTcp. */
export function connectPipe(path: string, done: (status: number) => void): PipeHandle {
  const handle = new Pipe(pipeWrap.constants.SOCKET);
  const req = new PipeConnectWrap();
  req.oncomplete = done;
  const err = handle.connect(req, path);
  if (err !== 0) queueMicrotask(() => done(err));
  return handle;
}
