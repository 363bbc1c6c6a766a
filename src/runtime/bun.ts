// Runtime on Bun's native sockets (Bun.listen / Bun.connect). Bun's write() is unbuffered:
// it returns how much the kernel took, so the relay queues the rest, pauses the source and
// flushes on `drain`. FIN is forwarded with shutdown(), never end() (end() closes both ways).
import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import { IdleSweeper, type IdleWatch } from "../core/idle.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type Connection,
  type RelayEnd,
  type RelayOptions,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
} from "../core/runtime.ts";
import { rm } from "node:fs/promises";
import { openAppendFile } from "./log-file.ts";

const sweeper = new IdleSweeper();

/** Per-socket state Bun hands back to every handler. */
interface Side {
  conn: BunConnection;
  relay: Relay | null;
  /** Bytes that arrived before the relay started. */
  early: Uint8Array[] | null;
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

class BunConnection implements Connection {
  declare readonly __side: "client" & "upstream";
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  closed = false;

  constructor(readonly socket: BunSocket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = (socket as unknown as { remotePort?: number }).remotePort ?? 0;
    this.localAddress = (socket as unknown as { localAddress?: string }).localAddress ?? "";
    this.localPort = socket.localPort;
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
    this.client.resume();
    this.upstream.resume();
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
      src.pause();
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
      src.pause();
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
    else src.resume();
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

// One handler set for every socket: the state lives in socket.data, not in closures.
const relayHandlers: SocketHandler<Side> = {
  data(s, buf) {
    const relay = s.data.relay;
    if (relay) return relay.onData(s, buf);
    (s.data.early ??= []).push(new Uint8Array(buf));
    s.pause();
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

export const bunRuntime: Runtime = {
  name: "bun",
  version: Bun.version,
  pid: process.pid,

  async listen(options, onConnection) {
    const listener: TCPSocketListener<Side> = Bun.listen<Side>({
      hostname: options.host ?? "0.0.0.0",
      port: options.port,
      allowHalfOpen: true,
      socket: {
        ...relayHandlers,
        open(s) {
          s.data = newSide(s);
          s.setNoDelay(options.noDelay);
          onConnection(s.data.conn as unknown as ClientConnection);
        },
      },
    });
    return {
      host: options.host ?? "0.0.0.0",
      port: listener.port,
      close: async () => listener.stop(false),
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
            s.setNoDelay(options.noDelay);
            if (options.keepAlive) s.setKeepAlive(true, 0);
            s.pause();
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

  readTextFile: (path) => Bun.file(path).text(),
  writeTextFile: async (path, text) => void (await Bun.write(path, text)),
  removeFile: (path) => rm(path, { force: true }),
  sendSignal: (pid, signal) => void process.kill(pid, signal),

  openLogFile: async (path) => openAppendFile(path),

  writeStderr: (text) => void process.stderr.write(text),
  writeStdout: (text) => void process.stdout.write(text),
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
