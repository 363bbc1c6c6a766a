// A TLS handshake on a native Bun socket, either side (tls-accept.ts, tls-connect.ts): its
// deadline, how an end or a close before it are told, and the raw socket under an upgraded one.
import { TlsHandshakeError } from "../../core/runtime-tls.ts";
import type { BunSocket, Side } from "./connection.ts";
import { relayHandlers } from "./relay.ts";

/** How a handshake ended: its socket and the library's verdict on the peer, or why it failed. */
export type HandshakeEnd = { readonly socket: BunSocket; readonly verifyError: string | null } | Error;

const CLOSED = "peer closed connection in SSL handshake";

/**
 * A handshake in flight. It waits in the TLS socket's Side as its pending read, which is how
 * relay.ts's handlers tell of an end or a close before the handshake event.
 */
export class Handshake {
  settled = false;
  /** A pending read's own timer, which relay.ts's handlers clear: this one keeps its deadline. */
  readonly timer = undefined;
  private readonly deadline: ReturnType<typeof setTimeout>;
  constructor(
    readonly side: Side,
    timeoutMs: number,
    onTimeout: () => Error,
    private readonly done: (end: HandshakeEnd) => void,
  ) {
    this.deadline = setTimeout(() => this.settle(onTimeout()), timeoutMs);
  }
  settle(end: HandshakeEnd): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.done(end);
  }
  resolve(chunk: Uint8Array | null): void {
    if (chunk === null) return this.settle(new TlsHandshakeError("closed", CLOSED));
    // Bytes before the handshake event (not seen, but cheap to keep): they wait for the relay.
    (this.side.early ??= []).unshift(chunk);
    this.side.earlyBytes += chunk.byteLength;
    this.side.bytesIn -= chunk.byteLength;
    this.side.reader = this;
  }
  reject(): void {
    this.settle(new TlsHandshakeError("closed", CLOSED));
  }
}

/**
 * relay.ts's handlers, and the handshake's end. Bun calls it once with `authorized` and an
 * error: a handshake that failed carries EPROTO or an ERR_SSL_ code (ECONNRESET when the peer
 * went away); any other code is the verdict on a peer whose handshake finished, which the
 * core judges (a client's is not authorized then, a server's that did not insist is).
 */
export const handshakeHandlers = {
  ...relayHandlers,
  handshake(s: BunSocket, authorized: boolean, error: { code?: string; message?: string } | null) {
    const side = s.data;
    const h = side.reader;
    if (!(h instanceof Handshake) || h.settled) return;
    side.reader = null;
    const code = error?.code ?? null;
    if (!authorized && (code === null || code === "ECONNRESET" || code === "EPROTO" || /^ERR_(SSL|OSSL)_/.test(code))) {
      s.end();
      if (code === "ECONNRESET") return h.settle(new TlsHandshakeError("closed", CLOSED));
      return h.settle(new TlsHandshakeError("failed", libraryReason(error)));
    }
    h.settle({ socket: s, verifyError: code });
  },
};

/**
 * BoringSSL's `error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST` as node:tls on Bun
 * words it (its reason), so the log reads the same on either path.
 */
function libraryReason(e: { code?: string; message?: string } | null): string {
  const m = e?.message ?? "";
  const reason = /^error:[0-9a-fA-F]+:[^:]*:[^:]*:(.+)$/.exec(m)?.[1];
  return reason ?? (m || e?.code || "handshake failed");
}

/**
 * The raw socket's events after an upgrade: Bun still shows it the ciphertext, which the TLS
 * socket reads itself, so they are let go (relay.ts's handlers call this as they call a relay);
 * closing the raw connection closes the TLS socket over it.
 */
export function upgraded(tlsSocket: () => BunSocket | null) {
  const ignore = () => {};
  return { onData: ignore, onDrain: ignore, onEnd: ignore, onClose: ignore, finish: () => tlsSocket()?.end() };
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
