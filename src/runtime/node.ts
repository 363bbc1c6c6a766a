// Runtime on Node's `net`: the relay is a hand-written pipe (pause on a full write buffer,
// resume on drain) so it can also mark idle activity and forward EOF as nginx does.
import { readFile, rm, writeFile } from "node:fs/promises";
import cluster from "node:cluster";
import net from "node:net";
import { availableParallelism } from "node:os";
import process from "node:process";
import { IdleSweeper } from "../core/idle.ts";
import { openAppendFile } from "./log-file.ts";
import { probeNode } from "./node-probe.ts";
import { serveNodeHttp } from "./node-http.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type Connection,
  type RelayEnd,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
  type WorkerHandle,
  type WorkerMessage,
  type WorkerSide,
} from "../core/runtime.ts";
import { WORKER_ENV, workerIndex } from "./pipe-channel.ts";

const sweeper = new IdleSweeper();

class NodeConnection implements Connection {
  declare readonly __side: "client" & "upstream";

  constructor(readonly socket: net.Socket) {
    // Errors before the relay starts must not crash the process; the relay reports them.
    socket.on("error", ignore);
  }

  get bytesIn(): number {
    return this.socket.bytesRead;
  }
  get bytesOut(): number {
    return this.socket.bytesWritten;
  }

  // Addresses are read when asked for: each is a getpeername/getsockname system call (Node
  // caches the answer), and a round-robin session with logging at "error" asks for none.
  get remoteAddress(): string {
    return unmapV4(this.socket.remoteAddress ?? "");
  }
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }
  get localAddress(): string {
    return unmapV4(this.socket.localAddress ?? "");
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  close(): void {
    this.socket.destroy();
  }
}

function ignore(): void {}

/** `::ffff:127.0.0.1` (a v4 client on a dual-stack listener) reads as nginx shows it. */
function unmapV4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function relay(client: ClientConnection, upstream: UpstreamConnection, opts: { idleTimeoutMs: number; halfClose: boolean }): Promise<RelayResult> {
  const c = (client as unknown as NodeConnection).socket;
  const u = (upstream as unknown as NodeConnection).socket;
  return new Promise<RelayResult>((resolve) => {
    let ended: RelayEnd | null = null;
    let flushedEofs = 0;
    const watch = sweeper.watch(opts.idleTimeoutMs, () => finish("idle_timeout"));

    function finish(end: RelayEnd): void {
      if (ended) return;
      ended = end;
      sweeper.unwatch(opts.idleTimeoutMs, watch);
      c.destroy();
      u.destroy();
      resolve({
        end,
        bytesFromClient: c.bytesRead,
        bytesToClient: c.bytesWritten,
        bytesFromUpstream: u.bytesRead,
        bytesToUpstream: u.bytesWritten,
      });
    }

    function pipe(src: net.Socket, dst: net.Socket, eofEnd: RelayEnd, errorEnd: RelayEnd): void {
      src.on("data", (chunk: Buffer) => {
        watch.active = true;
        if (!dst.write(chunk)) src.pause();
      });
      dst.on("drain", () => src.resume());
      src.on("end", () => {
        if (!opts.halfClose) {
          // nginx: with proxy_half_close off the session ends once the EOF side's data is
          // flushed. Data the kernel already took is still delivered by close(), so when Node
          // holds nothing back there is no need for a FIN (shutdown) before the close.
          if (dst.writableLength === 0) finish(eofEnd);
          else dst.end(() => finish(eofEnd));
          return;
        }
        // With it on, the FIN is forwarded and the session ends when both directions are done.
        dst.end(() => {
          if (++flushedEofs === 2) finish(eofEnd);
        });
      });
      src.on("error", () => finish(errorEnd));
      src.on("close", () => {
        if (!ended && !src.readableEnded) finish(errorEnd);
      });
    }

    if (c.destroyed) return finish("client_error");
    if (u.destroyed) return finish("upstream_error");
    pipe(c, u, "client_closed", "client_error");
    pipe(u, c, "upstream_closed", "upstream_error");
    c.resume();
    u.resume();
  });
}

/** Messages through node:cluster's IPC: anything else on it (cluster's own) is not ours. */
function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === "object" && m !== null && ((m as { type?: unknown }).type === "ready" || (m as { type?: unknown }).type === "health");
}

/**
 * A cluster worker: Node 20 has no SO_REUSEPORT, but a worker's server.listen() is handed
 * the primary's socket, so all workers share the port (the primary passes each accepted
 * connection on, round-robin: Node's default on Linux).
 */
function nodeWorkerSide(): WorkerSide | null {
  if (!cluster.isWorker) return null;
  const index = workerIndex(process.env[WORKER_ENV]);
  if (index === null) return null;
  // Listening from the start: an 'message' event without a listener would be lost, and the
  // master's replay arrives before the config is applied.
  const handlers: ((m: WorkerMessage) => void)[] = [];
  const early: WorkerMessage[] = [];
  process.on("message", (m: unknown) => {
    if (!isWorkerMessage(m)) return;
    if (handlers.length) for (const h of handlers) h(m);
    else early.push(m);
  });
  return {
    index,
    send: (m) => void process.send?.(m),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void process.on("disconnect", h),
  };
}

function nodeSpawnWorker(index: number): WorkerHandle {
  const worker = cluster.fork({ [WORKER_ENV]: String(index) });
  return {
    pid: worker.process.pid ?? 0,
    send: (m) => {
      if (worker.isConnected()) worker.send(m);
    },
    onMessage: (h) => void worker.on("message", (m: unknown) => isWorkerMessage(m) && h(m)),
    signal: (sig) => {
      try {
        worker.process.kill(sig);
      } catch {
        // already gone
      }
    },
    exited: new Promise((resolve) => worker.once("exit", (code: number, signal: string | null) => resolve(signal ? null : code))),
  };
}

export const nodeRuntime: Runtime = {
  name: "node",
  version: process.versions.node,
  pid: process.pid,

  listen(options, onConnection) {
    return new Promise((resolve, reject) => {
      // Not pauseOnConnect: a paused socket costs an extra epoll change to start reading, and
      // what a client sends before the relay starts simply waits in the socket's buffer.
      const server = net.createServer({ allowHalfOpen: true, noDelay: options.noDelay }, (socket) => {
        onConnection(new NodeConnection(socket) as unknown as ClientConnection);
      });
      server.once("error", reject);
      // nginx's `listen 8000` is 0.0.0.0:8000 (IPv4 only); [::]:8000 must be asked for.
      server.listen({ port: options.port, host: options.host ?? "0.0.0.0", backlog: 511 }, () => {
        server.off("error", reject);
        server.on("error", ignore);
        const addr = server.address() as net.AddressInfo;
        resolve({
          host: options.host ?? "0.0.0.0",
          port: addr.port,
          // Stops accepting at once; close()'s callback would wait for every live session.
          close: async () => void server.close(),
        });
      });
    });
  },

  connect(target, options) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: target.host,
        port: target.port,
        allowHalfOpen: true,
        noDelay: options.noDelay,
        keepAlive: options.keepAlive,
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"));
      }, options.timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve(new NodeConnection(socket) as unknown as UpstreamConnection);
      });
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(toConnectFailure(err));
      };
      socket.once("error", onError);
    });
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
  processes: { cpuCount: () => availableParallelism(), worker: nodeWorkerSide(), spawnWorker: nodeSpawnWorker },
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};

function toConnectFailure(err: NodeJS.ErrnoException): ConnectFailure {
  switch (err.code) {
    case "ECONNREFUSED":
      return new ConnectFailure("refused", err.code, "Connection refused");
    case "ETIMEDOUT":
      return new ConnectFailure("timeout", err.code, "Connection timed out");
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new ConnectFailure("unreachable", err.code, err.message);
    default:
      return new ConnectFailure("other", err.code ?? "EIO", err.message);
  }
}

