// One UDP health check (NGINX Plus's `health_check udp`) over the runtime's datagram door:
// send one datagram from a socket connected to the server, then wait. UDP has no handshake,
// so without an expected reply the only bad news is an ICMP port unreachable, which the
// adapters report on a connected socket as ECONNREFUSED; silence for the whole timeout is a
// pass. With an expected reply, the first datagram back is the reply that is judged.
import type { ConnectTarget, DatagramSocket, ProbeOptions, ProbeResult, Runtime } from "./runtime.ts";

/** What a check sends when its match sends nothing (Plus sends this string). */
export const DEFAULT_UDP_CHECK_SEND = "nginx health check";

/** The timers the probe needs (health.ts's HealthClock has them). */
export interface ProbeTimers {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The largest UDP payload: a reply is read whole, then cut to maxBytes for the judge. */
const MAX_DATAGRAM = 65_535;

/**
 * Never rejects, as Runtime.probe. `options.maxBytes` > 0 means a reply is expected; `send`
 * is what goes out (the caller puts the default in when the match has none).
 */
export function probeDatagram(
  connect: NonNullable<Runtime["connectDatagram"]>,
  target: ConnectTarget,
  options: ProbeOptions,
  timers: ProbeTimers,
): Promise<ProbeResult> {
  const expectsReply = options.maxBytes > 0;
  return new Promise<ProbeResult>((resolve) => {
    let socket: DatagramSocket | null = null;
    let done = false;
    const finish = (result: ProbeResult) => {
      if (done) return;
      done = true;
      timers.clearTimer(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket?.close();
      resolve(result);
    };
    const onAbort = () => finish({ kind: "aborted" });
    const timer = timers.setTimer(
      () => finish(expectsReply ? { kind: "timeout", stage: "reply" } : { kind: "ok", received: new Uint8Array(0) }),
      options.timeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort);
    connect(target, {
      // Any reply shows the port is served: without an expect that is already a pass.
      message: (data) => finish({ kind: "ok", received: expectsReply ? data.subarray(0, options.maxBytes) : data }),
      error: (code, detail) => finish(code === "ECONNREFUSED" ? { kind: "refused" } : { kind: "error", code, detail }),
    }, expectsReply ? Math.min(Math.max(options.maxBytes, 1), MAX_DATAGRAM) : MAX_DATAGRAM).then(
      (s) => {
        if (done) return s.close();
        socket = s;
        const sent = s.send(options.send ?? new Uint8Array(0));
        if (sent === "dropped") finish({ kind: "error", code: "ENOBUFS", detail: "the socket's send queue is full" });
      },
      (err: unknown) => {
        const code = (err as { code?: unknown })?.code;
        if (code === "ECONNREFUSED") return finish({ kind: "refused" });
        finish({ kind: "error", code: typeof code === "string" ? code : "EIO", detail: String(err) });
      },
    );
  });
}
