// A native Bun TLS socket seen as node:tls's TLSSocket, for what reads a finished handshake
// (tls/facts.ts, tls/trust.ts): one reading of the facts for both kinds of socket. The native
// methods are node:tls's underneath, with two differences: getPeerCertificate takes
// "abbreviated" rather than "detailed", and the verdict comes with the handshake event.
import type tls from "node:tls";
import type { BunSocket } from "./connection.ts";

/** The native methods this view reads (bun-types lacks some). */
interface NativeTls {
  getCipher(): tls.CipherNameAndProtocol;
  getPeerCertificate(abbreviated?: boolean): tls.PeerCertificate | tls.DetailedPeerCertificate | null;
  getTLSVersion(): string | null;
  getServername(): string | undefined;
  isSessionReused(): boolean;
  readonly alpnProtocol: string | false | null;
}

export class NativeTlsView {
  constructor(
    private readonly socket: BunSocket,
    /** The handshake event's verdict: the code (`DEPTH_ZERO_SELF_SIGNED_CERT`), or null. */
    readonly authorizationError: string | null,
  ) {}

  private get native(): NativeTls {
    return this.socket as unknown as NativeTls;
  }

  /** The chain verified (or none was asked for): the handshake event said no error. */
  get authorized(): boolean {
    return this.authorizationError === null;
  }
  get servername(): string | false {
    return this.native.getServername() || false;
  }
  get alpnProtocol(): string | false {
    return this.native.alpnProtocol || false;
  }
  getCipher(): tls.CipherNameAndProtocol {
    return this.native.getCipher();
  }
  getProtocol(): string | null {
    return this.native.getTLSVersion();
  }
  isSessionReused(): boolean {
    return this.native.isSessionReused();
  }
  getPeerCertificate(detailed?: boolean): tls.PeerCertificate | tls.DetailedPeerCertificate {
    return (this.native.getPeerCertificate(!detailed) ?? {}) as tls.PeerCertificate;
  }

  /** As node:tls's TLSSocket, for facts.ts and trust.ts, which read only the members above. */
  asTlsSocket(): tls.TLSSocket {
    return this as unknown as tls.TLSSocket;
  }
}
