// Runtime.probe on Bun's native sockets: one handler set shared by every probe (the state
// rides in socket.data), one timer per probe. Bun's write() is unbuffered, so a send the
// kernel does not take at once is finished from `drain`. Bun may reuse the buffer it hands
// to `data`, so reply bytes are copied, and only when a reply is expected.
import type { Socket, SocketHandler } from "bun";
import type { ConnectTarget, ProbeOptions, ProbeResult } from "../../core/runtime.ts";
import { ABORTED, CONNECT_TIMEOUT, EMPTY, OK_EMPTY, REFUSED, REPLY_TIMEOUT } from "../probe-results.ts";

class ProbeState {
  socket: Socket<ProbeState> | null = null;
  connected = false;
  done = false;
  /** Bytes of `send` the kernel has not taken yet. */
  unsent: Uint8Array | null = null;
  received: Uint8Array = EMPTY;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly onAbort = () => this.finish(ABORTED);

  constructor(
    readonly options: ProbeOptions,
    private readonly resolve: (r: ProbeResult) => void,
  ) {}

  finish(result: ProbeResult): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener("abort", this.onAbort);
    // terminate(): no FIN handshake to wait for, the probe has what it came for.
    this.socket?.terminate();
    this.resolve(result);
  }

  ok(): void {
    this.finish(this.received.byteLength ? { kind: "ok", received: this.received } : OK_EMPTY);
  }

  /** Writes what is left of `send`; true once all of it is out. */
  flush(s: Socket<ProbeState>): boolean {
    const rest = this.unsent;
    if (!rest) return true;
    const n = s.write(rest);
    if (n < 0) {
      this.finish({ kind: "error", code: "EPIPE", detail: "the server closed the connection before the check was sent" });
      return false;
    }
    this.unsent = n < rest.byteLength ? rest.subarray(n) : null;
    return this.unsent === null;
  }
}

const handlers: SocketHandler<ProbeState> = {
  open(s) {
    const st = s.data;
    st.socket = s;
    if (st.done) return void s.terminate(); // connected after the timeout gave up on it
    st.connected = true;
    st.unsent = st.options.send;
    if (st.flush(s) && st.options.maxBytes === 0) st.ok();
  },
  drain(s) {
    const st = s.data;
    if (!st.done && st.flush(s) && st.options.maxBytes === 0) st.ok();
  },
  data(s, buf) {
    const st = s.data;
    if (st.done || st.options.maxBytes === 0) return;
    const room = st.options.maxBytes - st.received.byteLength;
    const take = buf.byteLength > room ? buf.subarray(0, room) : buf;
    const joined = new Uint8Array(st.received.byteLength + take.byteLength);
    joined.set(st.received);
    joined.set(take, st.received.byteLength);
    st.received = joined;
    if (joined.byteLength >= st.options.maxBytes || st.options.enough(joined)) st.ok();
  },
  end(s) {
    s.data.ok();
  },
  close(s, err) {
    const st = s.data;
    if (st.connected) st.ok();
    else st.finish(failure(err));
  },
  error(s, err) {
    s.data.finish(failure(err));
  },
  connectError(s, err) {
    s.data.finish(failure(err));
  },
};

export function probeBun(target: ConnectTarget, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (options.signal?.aborted) return resolve(ABORTED);
    const st = new ProbeState(options, resolve);
    st.timer = setTimeout(() => st.finish(st.connected ? REPLY_TIMEOUT : CONNECT_TIMEOUT), options.timeoutMs);
    options.signal?.addEventListener("abort", st.onAbort);
    const connecting = target.unixPath !== undefined
      ? Bun.connect<ProbeState>({ unix: target.unixPath, data: st, socket: handlers })
      : Bun.connect<ProbeState>({ hostname: target.host, port: target.port, data: st, socket: handlers });
    connecting.catch((err: unknown) => st.finish(failure(err)));
  });
}

function failure(err: unknown): ProbeResult {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? "EIO";
  if (code === "ECONNREFUSED") return REFUSED;
  if (code === "ETIMEDOUT") return CONNECT_TIMEOUT;
  return { kind: "error", code, detail: e?.message ?? String(err) };
}
