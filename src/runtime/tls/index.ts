// TLS for every runtime on its node:tls (OpenSSL on Node, BoringSSL on Bun, rustls on Deno):
// one implementation, and per runtime what its library cannot do as written.
import { statSync } from "node:fs";
import type { TlsSupport } from "../../core/runtime.ts";
import type { TlsClientOptions, TlsServerOptions } from "../../core/runtime-tls.ts";
import { connect } from "./client.ts";
import { accept, serverContext, withCertificates } from "./server.ts";
import { shareTicketKeys } from "./ticket-keys.ts";

export interface TlsLimits {
  readonly library: string;
  readonly sni: boolean;
  /** null when workers can share ticket keys, else why not (runtime-tls.ts). */
  readonly ticketKeysUnshared: string | null;
  /** null when the runtime's node:tls does what `o` says, else why not. */
  cannot(o: TlsServerOptions | TlsClientOptions): string | null;
}

export function nodeTlsSupport(limits: TlsLimits): TlsSupport {
  const { library, sni, cannot, ticketKeysUnshared } = limits;
  return {
    library,
    sni,
    cannot,
    keyFileMode,
    ticketKeysUnshared,
    // Where the library cannot take them, keys are not handed to it at all.
    shareTicketKeys: ticketKeysUnshared === null ? shareTicketKeys : () => {},
    serverContext,
    withCertificates,
    accept,
    connect,
  };
}

function keyFileMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}

export function isServerOptions(o: TlsServerOptions | TlsClientOptions): o is TlsServerOptions {
  return "pairs" in o;
}
