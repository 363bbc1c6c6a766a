// Runtime on Bun's native sockets (Bun.listen / Bun.connect). Bun's write() is unbuffered:
// it returns how much the kernel took, so the relay queues the rest, pauses the source and
// flushes on `drain`. FIN is forwarded with shutdown(), never end() (end() closes both ways).
import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import { IdleSweeper, type IdleWatch } from "../../core/idle.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type Connection,
  type RelayEnd,
  type RelayOptions,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
  type WorkerHandle,
  type WorkerMessage,
  type WorkerSide,
} from "../../core/runtime.ts";
import { rm, writeFile } from "node:fs/promises";
import { openAppendFile } from "../log-file.ts";
import { encodeMessage, readMessages, WORKER_ENV, workerIndex } from "../pipe-channel.ts";
import { availableParallelism } from "node:os";
import { probeBun } from "./probe.ts";
import { procFdUsage } from "../fd-usage.ts";

const sweeper = new IdleSweeper();

/** Per-socket state Bun hands back to every handler. */
interface Side {
  conn: BunConnection;
  relay: Relay | null;
  /** Bytes that arrived before the relay started. */
  early: Uint8Array[] | null;
  earlyBytes: number;
  /** Reading is paused (backpressure, or a full early buffer): resume() only then. */
  paused: boolean;
  earlyEof: boolean;
  earlyClose: boolean;
  /** Bytes the kernel did not take yet, oldest first. */
  queue: Uint8Array[];
  /** Peer's FIN seen; forward it once `queue` of the other side is flushed. */
  eof: boolean;
  /** Our FIN forwarded to this socket. */
  shut: boolean;
  bytesIn: number;
  bytesOut: number;
}

type BunSocket = Socket<Side>;

/** Bun's socket also has these (bun-types 1.4.5 does not declare them). */
type SocketAddresses = { remotePort?: number; localAddress?: string };

class BunConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  closed = false;
  // Read when first asked for, then kept: Bun answers each with a getpeername/getsockname
  // system call, and a round-robin session logging at "error" never asks.
  private remoteAddr: string | undefined;
  private remotePortNo: number | undefined;
  private localAddr: string | undefined;
  private localPortNo: number | undefined;

  constructor(readonly socket: BunSocket) {}

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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const relay = this.socket.data.relay;
    if (relay) relay.finish("aborted");
    else this.socket.end();
  }
}

function newSide(socket: BunSocket): Side {
  return {
    conn: new BunConnection(socket),
    relay: null,
    early: null,
    earlyBytes: 0,
    paused: false,
    earlyEof: false,
    earlyClose: false,
    queue: [],
    eof: false,
    shut: false,
    bytesIn: 0,
    bytesOut: 0,
  };
}

class Relay {
  private ended: RelayEnd | null = null;
  private readonly watch: IdleWatch;
  private resolve!: (r: RelayResult) => void;
  readonly done = new Promise<RelayResult>((r) => (this.resolve = r));

  constructor(
    readonly client: BunSocket,
    readonly upstream: BunSocket,
    private readonly opts: RelayOptions,
  ) {
    this.watch = sweeper.watch(opts.idleTimeoutMs, () => this.finish("idle_timeout"));
  }

  start(): void {
    for (const s of [this.client, this.upstream]) {
      const side = s.data;
      side.relay = this;
      const early = side.early;
      side.early = null;
      if (early) for (const b of early) this.onData(s, b);
      if (side.earlyClose) return this.finish(s === this.client ? "client_error" : "upstream_error");
      if (side.earlyEof) this.onEnd(s);
    }
    // Only what was paused: each pause/resume is an epoll change, and a resume also arms a
    // writable wake-up (uncork + another epoll change) in Bun.
    if (this.ended) return;
    for (const s of [this.client, this.upstream]) if (s.data.paused && this.peer(s).data.queue.length === 0) resume(s);
  }

  private peer(s: BunSocket): BunSocket {
    return s === this.client ? this.upstream : this.client;
  }

  onData(src: BunSocket, buf: Uint8Array): void {
    this.watch.active = true;
    src.data.bytesIn += buf.byteLength;
    const dst = this.peer(src);
    const q = dst.data.queue;
    if (q.length > 0) {
      q.push(new Uint8Array(buf));
      pause(src);
      return;
    }
    const n = dst.write(buf);
    if (n === buf.byteLength) {
      dst.data.bytesOut += n;
    } else if (n < 0) {
      this.finish(dst === this.client ? "client_error" : "upstream_error");
    } else {
      dst.data.bytesOut += n;
      q.push(buf.slice(n)); // Uint8Array#slice copies: Bun may reuse `buf`
      pause(src);
    }
  }

  /** `dst` can take more: flush its queue, then let its source read again. */
  onDrain(dst: BunSocket): void {
    const q = dst.data.queue;
    while (q.length > 0) {
      const b = q[0]!;
      const n = dst.write(b);
      if (n < 0) return this.finish(dst === this.client ? "client_error" : "upstream_error");
      dst.data.bytesOut += n;
      if (n < b.byteLength) {
        q[0] = b.subarray(n);
        return;
      }
      q.shift();
    }
    const src = this.peer(dst);
    if (src.data.eof) this.afterFlushedEof(src);
    else if (src.data.paused) resume(src);
  }

  onEnd(src: BunSocket): void {
    src.data.eof = true;
    if (this.peer(src).data.queue.length === 0) this.afterFlushedEof(src);
  }

  /** `src` sent FIN and everything it sent has reached its peer. */
  private afterFlushedEof(src: BunSocket): void {
    const end: RelayEnd = src === this.client ? "client_closed" : "upstream_closed";
    if (!this.opts.halfClose) return this.finish(end);
    const dst = this.peer(src);
    if (!dst.data.shut) {
      dst.data.shut = true;
      dst.shutdown();
    }
    if (this.client.data.shut && this.upstream.data.shut) this.finish(end);
  }

  onClose(s: BunSocket): void {
    if (this.ended) return;
    // A close we did not ask for: a reset, or a peer that closed both ways at once.
    const src = s;
    if (src.data.eof && this.opts.halfClose) {
      this.finish(src === this.client ? "client_closed" : "upstream_closed");
    } else {
      this.finish(src === this.client ? "client_error" : "upstream_error");
    }
  }

  finish(end: RelayEnd): void {
    if (this.ended) return;
    this.ended = end;
    sweeper.unwatch(this.opts.idleTimeoutMs, this.watch);
    const c = this.client.data;
    const u = this.upstream.data;
    this.client.end();
    this.upstream.end();
    this.resolve({
      end,
      bytesFromClient: c.bytesIn,
      bytesToClient: c.bytesOut,
      bytesFromUpstream: u.bytesIn,
      bytesToUpstream: u.bytesOut,
    });
  }
}

function pause(s: BunSocket): void {
  if (s.data.paused) return;
  s.data.paused = true;
  s.pause();
}

function resume(s: BunSocket): void {
  s.data.paused = false;
  s.resume();
}

/**
 * What a socket may read before its relay starts (the client while the upstream connects),
 * like nginx reading into its proxy buffer meanwhile; past it, reading pauses.
 */
const EARLY_LIMIT = 16 * 1024;

// One handler set for every socket: the state lives in socket.data, not in closures.
const relayHandlers: SocketHandler<Side> = {
  data(s, buf) {
    const side = s.data;
    const relay = side.relay;
    if (relay) return relay.onData(s, buf);
    (side.early ??= []).push(new Uint8Array(buf)); // a copy: Bun may reuse `buf`
    side.earlyBytes += buf.byteLength;
    if (side.earlyBytes >= EARLY_LIMIT) pause(s);
  },
  drain(s) {
    s.data.relay?.onDrain(s);
  },
  end(s) {
    const relay = s.data.relay;
    if (relay) relay.onEnd(s);
    else s.data.earlyEof = true;
  },
  close(s) {
    s.data.conn.closed = true;
    const relay = s.data.relay;
    if (relay) relay.onClose(s);
    else s.data.earlyClose = true;
  },
  error() {
    // close() follows and ends the relay.
  },
};

function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
  const r = new Relay(
    (client as unknown as BunConnection).socket,
    (upstream as unknown as BunConnection).socket,
    opts,
  );
  r.start();
  return r.done;
}

type MessageHandler = (message: WorkerMessage) => void;

/** This process as worker N: messages come on stdin, go out on stdout. */
function bunWorkerSide(): WorkerSide | null {
  const index = workerIndex(process.env[WORKER_ENV]);
  if (index === null) return null;
  const handlers: MessageHandler[] = [];
  const closers: (() => void)[] = [];
  // Started at once so no message waits on a handler; those that come first are kept.
  const early: WorkerMessage[] = [];
  void readMessages(
    Bun.stdin.stream(),
    (m) => (handlers.length ? handlers.forEach((h) => h(m)) : early.push(m)),
    () => undefined,
  ).then(() => closers.forEach((c) => c()));
  return {
    index,
    send: (m) => void process.stdout.write(encodeMessage(m)),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void closers.push(h),
  };
}

/** Worker N: this program again. A compiled binary is its own executable; argv[1] is internal. */
function bunSpawnWorker(index: number): WorkerHandle {
  const compiled = Bun.argv[1]?.startsWith("/$bunfs/") ?? false;
  const cmd = compiled ? [process.execPath, ...Bun.argv.slice(2)] : [process.execPath, ...Bun.argv.slice(1)];
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, [WORKER_ENV]: String(index) },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const handlers: MessageHandler[] = [];
  void readMessages(proc.stdout, (m) => handlers.forEach((h) => h(m)), (line) => void process.stdout.write(line));
  return {
    pid: proc.pid,
    send: (m) => {
      try {
        proc.stdin.write(encodeMessage(m));
        void proc.stdin.flush();
      } catch {
        // it is exiting; the master learns that from `exited`
      }
    },
    onMessage: (h) => void handlers.push(h),
    signal: (sig) => {
      try {
        process.kill(proc.pid, sig);
      } catch {
        // already gone
      }
    },
    exited: proc.exited.then((code) => (proc.signalCode ? null : code)),
  };
}

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  pid: process.pid,

  async listen(options, onConnection) {
    const open = (): TCPSocketListener<Side> =>
      Bun.listen<Side>({
        hostname: options.host ?? "0.0.0.0",
        port,
        allowHalfOpen: true,
        // Works at runtime, but bun-types declares reusePort on connect options only.
        ...({ reusePort: options.reusePort === true } as object),
        socket: {
          ...relayHandlers,
          open(s) {
            s.data = newSide(s);
            // Bun sets TCP_NODELAY on every socket it accepts or connects: only "off" needs a call.
            if (!options.noDelay) s.setNoDelay(false);
            onConnection(s.data.conn as unknown as ClientConnection);
          },
        },
      });
    let port = options.port;
    let listener: TCPSocketListener<Side> | null = open();
    port = listener.port;
    let closed = false;
    // Bun's loop cannot be told to stop accepting, and on EMFILE it retries the listening socket
    // without end (100% CPU). So a pause closes the listening socket (clients still waiting in
    // its backlog are refused) and resume opens it again on the same port.
    const resume = () => {
      if (closed || listener) return;
      try {
        listener = open();
      } catch {
        setTimeout(resume, 500); // the port is briefly taken, or descriptors are still short
      }
    };
    return {
      host: options.host ?? "0.0.0.0",
      port,
      close: async () => {
        closed = true;
        listener?.stop(false);
        listener = null;
      },
      pause: () => {
        listener?.stop(false);
        listener = null;
      },
      resume,
    };
  },

  connect(target, options) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
      }, options.timeoutMs);
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(toConnectFailure(err));
      };
      Bun.connect<Side>({
        hostname: target.host,
        port: target.port,
        allowHalfOpen: true,
        socket: {
          ...relayHandlers,
          open(s) {
            s.data = newSide(s);
            if (settled) {
              s.end(); // connected after the timeout gave up on it
              return;
            }
            settled = true;
            clearTimeout(timer);
            if (!options.noDelay) s.setNoDelay(false);
            if (options.keepAlive) s.setKeepAlive(true, 0);
            // Not paused: the relay starts in this same turn of the event loop, and anything
            // the upstream sends before that waits in `early`.
            resolve(s.data.conn as unknown as UpstreamConnection);
          },
          connectError(_s, err) {
            fail(err);
          },
        },
      }).catch(fail);
    });
  },

  relay,
  probe: probeBun,

  readTextFile: (path) => Bun.file(path).text(),
  // Not Bun.write: it creates missing directories, and a pid path in one that does not exist
  // must fail as nginx's open() does.
  writeTextFile: (path, text) => writeFile(path, text),
  removeFile: (path) => rm(path, { force: true }),
  sendSignal: (pid, signal) => void process.kill(pid, signal),

  openLogFile: async (path) => openAppendFile(path),
  serveHttp: async (options, handler) => {
    const server = Bun.serve({ hostname: options.host, port: options.port, fetch: handler });
    return { host: options.host, port: server.port ?? options.port, close: () => server.stop(true) };
  },

  writeStderr: (text) => void process.stderr.write(text),
  writeStdout: (text) => void process.stdout.write(text),
  processes: { cpuCount: () => availableParallelism(), worker: bunWorkerSide(), spawnWorker: bunSpawnWorker },
  fds: procFdUsage,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};

function toConnectFailure(err: unknown): ConnectFailure {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? "EIO";
  if (code === "ECONNREFUSED") return new ConnectFailure("refused", code, "Connection refused");
  if (code === "ETIMEDOUT") return new ConnectFailure("timeout", code, "Connection timed out");
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new ConnectFailure("unreachable", code, e.message ?? code);
  return new ConnectFailure("other", code, e?.message ?? String(err));
}
