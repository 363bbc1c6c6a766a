// Runtime on Deno's native sockets: one read/write loop per direction with a buffer of
// proxy_buffer_size, and closeWrite() to forward FIN. Never readable.pipeTo: it closes the
// whole connection at EOF (breaking half-close) and is slow on small messages.
import { IdleSweeper } from "../../core/idle.ts";
import { probeDeno } from "./probe.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type Connection,
  type LogFile,
  type RelayEnd,
  type RelayOptions,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
  type WorkerHandle,
  type WorkerMessage,
  type WorkerSide,
} from "../../core/runtime.ts";
import { encodeMessage, readMessages, WORKER_ENV, workerIndex } from "../pipe-channel.ts";
import { procFdUsage } from "../fd-usage.ts";

const sweeper = new IdleSweeper();
const encoder = new TextEncoder();

class DenoConnection implements Connection {
  declare readonly __side: "client" & "upstream";
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

function relay(client: ClientConnection, upstream: UpstreamConnection, opts: RelayOptions): Promise<RelayResult> {
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

type MessageHandler = (message: WorkerMessage) => void;

/** This process as worker N: messages come on stdin, go out on stdout. */
function denoWorkerSide(): WorkerSide | null {
  // Asked first, so a lone process without --allow-env never gets a permission prompt.
  if (Deno.permissions.querySync({ name: "env", variable: WORKER_ENV }).state !== "granted") return null;
  const index = workerIndex(Deno.env.get(WORKER_ENV));
  if (index === null) return null;
  const handlers: MessageHandler[] = [];
  const closers: (() => void)[] = [];
  const early: WorkerMessage[] = [];
  void readMessages(
    Deno.stdin.readable,
    (m) => (handlers.length ? handlers.forEach((h) => h(m)) : early.push(m)),
    () => undefined,
  ).then(() => closers.forEach((c) => c()));
  return {
    index,
    send: (m) => writeAllSync(Deno.stdout, encodeMessage(m)),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void closers.push(h),
  };
}

/** The master's own permissions, no more: a worker must not get what its master was denied. */
function grantedFlags(): string[] {
  const names = ["net", "read", "write", "env", "sys", "run", "ffi"] as const;
  return names.filter((name) => Deno.permissions.querySync({ name }).state === "granted").map((name) => `--allow-${name}`);
}

/** Worker N: the same script again, with --unstable-net for Deno.listen({reusePort}). */
function denoSpawnWorker(index: number): WorkerHandle {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...grantedFlags(), "--unstable-net", Deno.mainModule, ...Deno.args],
    env: { [WORKER_ENV]: String(index) },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const handlers: MessageHandler[] = [];
  void readMessages(child.stdout, (m) => handlers.forEach((h) => h(m)), (line) => writeAllSync(Deno.stdout, line));
  const writer = child.stdin.getWriter();
  let writing: Promise<void> = Promise.resolve();
  return {
    pid: child.pid,
    send: (m) => {
      // In order, one write at a time; a closed pipe means it is exiting.
      writing = writing.then(() => writer.write(encoder.encode(encodeMessage(m)))).catch(() => undefined);
    },
    onMessage: (h) => void handlers.push(h),
    signal: (sig) => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    },
    exited: child.status.then((s) => (s.signal ? null : s.code)),
  };
}

export const denoRuntime: Runtime = {
  name: "deno",
  version: Deno.version.deno,
  pid: Deno.pid,

  async listen(options, onConnection) {
    const listener = Deno.listen({
      hostname: options.host ?? "0.0.0.0",
      port: options.port,
      transport: "tcp",
      // Needs --unstable-net, which the master gives its workers; a lone process never asks.
      ...(options.reusePort ? { reusePort: true } : {}),
    });
    let closing = false;
    // While paused, accept() is not called: waiting clients stay in the kernel's backlog.
    let gate: Promise<void> | null = null;
    let open: (() => void) | null = null;
    void (async () => {
      for (;;) {
        if (gate) await gate;
        if (closing) return;
        let conn: Deno.TcpConn;
        try {
          conn = await listener.accept();
        } catch (err) {
          if (closing || err instanceof Deno.errors.BadResource) return;
          continue; // EMFILE and friends: keep accepting
        }
        try {
          conn.setNoDelay(options.noDelay);
        } catch {
          // the client already went away; the relay will see it
        }
        onConnection(new DenoConnection(conn) as unknown as ClientConnection);
      }
    })();
    return {
      host: options.host ?? "0.0.0.0",
      port: listener.addr.port,
      close: async () => {
        closing = true;
        open?.();
        listener.close();
      },
      pause: () => {
        gate ??= new Promise((resolve) => (open = resolve));
      },
      resume: () => {
        open?.();
        gate = open = null;
      },
    };
  },

  async connect(target, options) {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({
        hostname: target.host,
        port: target.port,
        transport: "tcp",
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw toConnectFailure(err);
    }
    conn.setNoDelay(options.noDelay);
    if (options.keepAlive) conn.setKeepAlive(true);
    return new DenoConnection(conn) as unknown as UpstreamConnection;
  },

  relay,
  probe: probeDeno,

  readTextFile: (path) => Deno.readTextFile(path),
  writeTextFile: (path, text) => Deno.writeTextFile(path, text),
  removeFile: async (path) => {
    try {
      await Deno.remove(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  },
  sendSignal: (pid, signal) => Deno.kill(pid, signal),

  async openLogFile(path) {
    const open = () => Deno.openSync(path, { append: true, create: true });
    let file = open();
    const log: LogFile = {
      write: (text) => {
        const data = encoder.encode(text);
        let off = 0;
        while (off < data.byteLength) off += file.writeSync(data.subarray(off));
      },
      append: async (text) => {
        const data = encoder.encode(text);
        const target = file;
        let off = 0;
        while (off < data.byteLength) off += await target.write(data.subarray(off));
      },
      reopen: async () => {
        const next = open();
        file.close();
        file = next;
      },
      close: async () => file.close(),
    };
    return log;
  },

  async serveHttp(options, handler) {
    // Deno.serve binds before it returns (a taken port throws here); onListen replaces
    // Deno's own "Listening on" line on stdout.
    const server = Deno.serve({ hostname: options.host, port: options.port, onListen: () => undefined }, handler);
    return { host: options.host, port: server.addr.port, close: () => server.shutdown() };
  },

  writeStderr: (text) => writeAllSync(Deno.stderr, text),
  writeStdout: (text) => writeAllSync(Deno.stdout, text),
  processes: { cpuCount: () => navigator.hardwareConcurrency, worker: denoWorkerSide(), spawnWorker: denoSpawnWorker },
  fds: procFdUsage,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
};

function writeAllSync(out: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  while (off < data.byteLength) off += out.writeSync(data.subarray(off));
}

function toConnectFailure(err: unknown): ConnectFailure {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out");
  }
  if (err instanceof Deno.errors.ConnectionRefused) return new ConnectFailure("refused", "ECONNREFUSED", "Connection refused");
  if (err instanceof Deno.errors.TimedOut) return new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out");
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectFailure("other", "EIO", message);
}
