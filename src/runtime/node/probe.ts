// Runtime.probe on Node's `net`: one socket, one timer, and a reply buffer only when bytes
// arrive (Node hands each chunk over as a fresh Buffer, so a one-chunk reply is not copied).
import { setMaxListeners } from "node:events";
import net from "node:net";
import type { ConnectTarget, ProbeOptions, ProbeResult } from "../../core/runtime.ts";
import { ABORTED, CONNECT_TIMEOUT, EMPTY, OK_EMPTY, REFUSED, REPLY_TIMEOUT } from "../probe-results.ts";

/**
 * Every probe of an upstream listens on its checker's one abort signal; Node would warn about
 * a leak past 10 listeners, which here are just a thousand servers checked at once.
 */
const unlimited = new WeakSet<AbortSignal>();

export function probeNode(target: ConnectTarget, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const signal = options.signal;
    if (signal?.aborted) return resolve(ABORTED);
    if (signal && !unlimited.has(signal)) {
      setMaxListeners(0, signal);
      unlimited.add(signal);
    }
    const socket = net.connect(
      target.unixPath !== undefined ? { path: target.unixPath } : { host: target.host, port: target.port },
    );
    let connected = false;
    let done = false;
    let received: Uint8Array = EMPTY;

    const finish = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const ok = () => finish(received.byteLength ? { kind: "ok", received } : OK_EMPTY);
    const onAbort = () => finish(ABORTED);
    const timer = setTimeout(() => finish(connected ? REPLY_TIMEOUT : CONNECT_TIMEOUT), options.timeoutMs);
    signal?.addEventListener("abort", onAbort);

    socket.once("connect", () => {
      connected = true;
      const send = options.send;
      if (options.maxBytes === 0) {
        // No reply expected: pass once the bytes are in the kernel's hands.
        if (send) socket.write(send, (err) => (err ? finish(failure(err)) : ok()));
        else ok();
      } else if (send) {
        socket.write(send);
      }
    });
    socket.on("data", (chunk: Buffer) => {
      const room = options.maxBytes - received.byteLength;
      const take = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      if (received.byteLength === 0) {
        received = take;
      } else {
        const joined = new Uint8Array(received.byteLength + take.byteLength);
        joined.set(received);
        joined.set(take, received.byteLength);
        received = joined;
      }
      if (received.byteLength >= options.maxBytes || options.enough(received)) ok();
    });
    socket.once("end", ok);
    socket.once("error", (err: NodeJS.ErrnoException) => finish(failure(err)));
    // A close without 'end' or 'error' (destroyed by the peer's RST after data).
    socket.once("close", () => (connected ? ok() : finish(failure(new Error("closed")))));
  });
}

function failure(err: NodeJS.ErrnoException): ProbeResult {
  if (err.code === "ECONNREFUSED") return REFUSED;
  if (err.code === "ETIMEDOUT") return CONNECT_TIMEOUT;
  return { kind: "error", code: err.code ?? "EIO", detail: err.message };
}
