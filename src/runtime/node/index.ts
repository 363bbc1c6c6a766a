// Runtime on Node: net.Server listens (workers share ports as processes.ts says), but
// sessions run on the TCP handles under it (tcp-handles.ts), and the relay is a hand-written pipe
// on them. Where Node refuses the handles (the permission model), sessions run on net.Socket
// streams instead (socket.ts), and the runtime says so in a notice.
import { readFile, rm, writeFile } from "node:fs/promises";
import { lookup } from "node:dns/promises";
import net from "node:net";
import process from "node:process";
import { getSystemErrorName } from "node:util";
import { IdleSweeper, type IdleWatch } from "../../core/idle.ts";
import { procFdUsage } from "../fd-usage.ts";
import { openAppendFile } from "../log-file.ts";
import { probeNode } from "./probe.ts";
import { serveNodeHttp } from "./http.ts";
import { connectTcp, tcpHandlesUnavailable, lastReadBytes, lastReadResult, shutdown, takeAccepts, UV_EOF, write, type SocketName, type TcpHandle } from "./tcp-handles.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type ConnectOptions,
  type Connection,
  type RelayEnd,
  type RelayOptions,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
} from "../../core/runtime.ts";
import { listensWithReusePort, nodeProcesses } from "./processes.ts";
import { connectSocket, relaySockets, socketServer, SocketConnection, unmapV4 } from "./socket.ts";

const sweeper = new IdleSweeper();

class NodeConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  bytesIn = 0;
  bytesOut = 0;
  closed = false;
  /** The relay moving this connection's bytes, once it runs: close() ends it. */
  relay: Relay | null = null;
  private peer: SocketName | null = null;
  private local: SocketName | null = null;

  constructor(readonly handle: TcpHandle) {}

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

  close(): void {
    if (this.relay) this.relay.finish("aborted");
    else this.destroy();
  }

  /** Closes the socket; anything the kernel already took is still delivered. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    // (onread is left as it is: Node's setter aborts the process on anything but a function.)
    this.handle.close();
  }
}

function ignore(): void {}

/**
 * One direction of a session. Each read is written on at once; when the kernel cannot take
 * all of it, reading stops until the rest is flushed (one buffer in flight, as nginx).
 */
class Direction {
  private writing = false;
  private eof = false;

  constructor(
    private readonly relay: Relay,
    private readonly src: NodeConnection,
    private readonly dst: NodeConnection,
    private readonly eofEnd: RelayEnd,
    private readonly srcError: RelayEnd,
    private readonly dstError: RelayEnd,
  ) {}

  start(): void {
    this.src.handle.onread = (buffer) => this.onRead(buffer);
    if (this.src.handle.readStart() !== 0) this.relay.finish(this.srcError);
  }

  private onRead(buffer: ArrayBuffer | undefined): void {
    const n = lastReadResult();
    if (n > 0) {
      this.relay.watch.active = true;
      this.src.bytesIn += n;
      const status = write(this.dst.handle, lastReadBytes(buffer!, n), this.onFlushed);
      if (status < 0) return this.relay.finish(this.dstError);
      this.dst.bytesOut += n;
      if (status === 1) {
        this.writing = true;
        this.src.handle.readStop();
      }
    } else if (n === UV_EOF) {
      // libuv stops reading after EOF by itself.
      this.eof = true;
      if (!this.writing) this.forwardEof();
    } else if (n < 0) {
      this.relay.finish(this.srcError);
    }
  }

  private readonly onFlushed = (status: number): void => {
    this.writing = false;
    if (this.relay.ended) return;
    if (status < 0) this.relay.finish(this.dstError);
    else if (this.eof) this.forwardEof();
    else if (this.src.handle.readStart() !== 0) this.relay.finish(this.srcError);
  };

  private forwardEof(): void {
    // nginx: with proxy_half_close off the session ends once the EOF side's data is flushed
    // (close() still delivers what the kernel took, so no FIN round is needed first).
    if (!this.relay.halfClose) return this.relay.finish(this.eofEnd);
    // With it on, the FIN is forwarded and the session ends when both directions are done.
    const err = shutdown(this.dst.handle, (status) => {
      if (this.relay.ended) return;
      if (status < 0) this.relay.finish(this.dstError);
      else if (++this.relay.finishedDirections === 2) this.relay.finish(this.eofEnd);
    });
    if (err < 0) this.relay.finish(this.dstError);
  }
}

class Relay {
  ended: RelayEnd | null = null;
  finishedDirections = 0;
  readonly watch: IdleWatch;
  readonly result: Promise<RelayResult>;
  private resolve!: (result: RelayResult) => void;

  constructor(
    private readonly client: NodeConnection,
    private readonly upstream: NodeConnection,
    private readonly idleTimeoutMs: number,
    readonly halfClose: boolean,
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
    this.watch = sweeper.watch(idleTimeoutMs, () => this.finish("idle_timeout"));
  }

  start(): void {
    if (this.client.closed) return this.finish("client_error");
    if (this.upstream.closed) return this.finish("upstream_error");
    this.client.relay = this;
    this.upstream.relay = this;
    new Direction(this, this.client, this.upstream, "client_closed", "client_error", "upstream_error").start();
    if (!this.ended) new Direction(this, this.upstream, this.client, "upstream_closed", "upstream_error", "client_error").start();
  }

  finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = end;
    sweeper.unwatch(this.idleTimeoutMs, this.watch);
    this.client.destroy();
    this.upstream.destroy();
    this.resolve({
      end,
      bytesFromClient: this.client.bytesIn,
      bytesToClient: this.client.bytesOut,
      bytesFromUpstream: this.upstream.bytesIn,
      bytesToUpstream: this.upstream.bytesOut,
    });
  }
}

function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
  if (client instanceof SocketConnection) return relaySockets(client, upstream as unknown as SocketConnection, opts);
  const r = new Relay(client as unknown as NodeConnection, upstream as unknown as NodeConnection, opts.idleTimeoutMs, opts.halfClose);
  r.start();
  return r.result;
}

export const nodeRuntime: Runtime = {
  name: "node",
  version: process.versions.node,
  pid: process.pid,

  listen(options, onConnection) {
    return new Promise((resolve, reject) => {
      // Not pauseOnConnect: a paused socket costs an extra epoll change to start reading, and
      // what a client sends before the relay starts simply waits in the socket's buffer.
      const server = tcpHandlesUnavailable ? socketServer() : net.createServer();
      server.once("error", reject);
      const reusePort = options.reusePort === true && listensWithReusePort();
      // nginx's `listen 8000` is 0.0.0.0:8000 (IPv4 only); [::]:8000 must be asked for.
      server.listen({ port: options.port, host: options.host ?? "0.0.0.0", backlog: 511, reusePort }, () => {
        server.off("error", reject);
        server.on("error", ignore);
        let paused = false;
        if (tcpHandlesUnavailable) {
          server.on("connection", (socket) => {
            if (paused) return void socket.destroy();
            if (options.noDelay) socket.setNoDelay(true);
            onConnection(new SocketConnection(socket) as unknown as ClientConnection);
          });
        } else {
          takeAccepts(server, (handle) => {
            // libuv cannot be told to stop accepting on a listening handle, so while paused what
            // it accepts is closed at once: the same thing libuv does itself on EMFILE (its spare
            // descriptor trick), only before the descriptors are all gone.
            if (paused) return handle.close();
            if (options.noDelay) handle.setNoDelay(true);
            onConnection(new NodeConnection(handle) as unknown as ClientConnection);
          });
        }
        const addr = server.address() as net.AddressInfo;
        resolve({
          host: options.host ?? "0.0.0.0",
          port: addr.port,
          // Stops accepting at once; close()'s callback would wait for every live session.
          close: async () => void server.close(),
          pause: () => void (paused = true),
          resume: () => void (paused = false),
        });
      });
    });
  },

  connect(target, options) {
    return isIpLiteral(target.host)
      ? connectTo(target.host, target.port, options)
      : resolveHost(target.host).then((host) => connectTo(host, target.port, options));
  },

  relay,
  probe: probeNode,

  readTextFile: (path) => readFile(path, "utf8"),
  writeTextFile: (path, text) => writeFile(path, text),
  removeFile: (path) => rm(path, { force: true }),
  sendSignal: (pid, signal) => void process.kill(pid, signal),

  openLogFile: async (path) => openAppendFile(path),
  serveHttp: serveNodeHttp,

  writeStderr: (text) => void process.stderr.write(text),
  writeStdout: (text) => void process.stdout.write(text),
  processes: nodeProcesses,
  notices: tcpHandlesUnavailable ? [`${tcpHandlesUnavailable.message}; sessions run on net.Socket streams instead, which is slower`] : [],
  fds: procFdUsage,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};

/** net.isIP runs a long regular expression; a balancer connects to the same few hosts all day. */
const ipLiterals = new Map<string, boolean>();
function isIpLiteral(host: string): boolean {
  let literal = ipLiterals.get(host);
  if (literal === undefined) ipLiterals.set(host, (literal = net.isIP(host) !== 0));
  return literal;
}

function connectTo(host: string, port: number, options: ConnectOptions): Promise<UpstreamConnection> {
  if (tcpHandlesUnavailable) return connectSocket(host, port, options, toConnectFailure) as unknown as Promise<UpstreamConnection>;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      handle.close();
      reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
    }, options.timeoutMs);
    const handle = connectTcp(host, port, (status) => {
      if (timedOut) return;
      clearTimeout(timer);
      if (status !== 0) {
        handle.close();
        return reject(toConnectFailure(getSystemErrorName(status), `${host}:${port}`));
      }
      if (options.noDelay) handle.setNoDelay(true);
      // Like net's keepAlive option: SO_KEEPALIVE with the system's timers.
      if (options.keepAlive) handle.setKeepAlive(true, 0);
      resolve(new NodeConnection(handle) as unknown as UpstreamConnection);
    });
  });
}

async function resolveHost(host: string): Promise<string> {
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new ConnectFailure("other", (err as NodeJS.ErrnoException).code ?? "ENOTFOUND", `${host} could not be resolved`);
  }
}

/** A connect's error code (ECONNREFUSED...), in the words nginx's error log uses. */
function toConnectFailure(code: string, where: string): ConnectFailure {
  switch (code) {
    case "ECONNREFUSED":
      return new ConnectFailure("refused", code, "Connection refused");
    case "ETIMEDOUT":
      return new ConnectFailure("timeout", code, "Connection timed out");
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new ConnectFailure("unreachable", code, `connect ${code} ${where}`);
    default:
      return new ConnectFailure("other", code, `connect ${code} ${where}`);
  }
}
