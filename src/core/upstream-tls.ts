// A backend for a session with TLS on either side (the route's sockets are TLS-capable); with
// proxy_ssl, the handshake and nginx's checks after it (proxy_ssl_verify), whose failure is a
// failed try like a refused connect, logged in nginx's words.
import { handshakeFailure, upstreamVerifyError } from "./phases/ssl.ts";
import type { RouteTls } from "./phases/ssl-setup.ts";
import type { ConnectOptions, UpstreamConnection } from "./runtime.ts";
import { TlsHandshakeError } from "./runtime-tls.ts";
import type { Peer } from "./upstream.ts";

/** proxy_ssl_verify refused the upstream's certificate (the message is nginx's). */
class UpstreamTlsRefused extends Error {}

/** The session's names: its upstream{} (or proxy_pass's host:port), proxy_ssl_name evaluated, its listener. */
export interface UpstreamTlsNames {
  readonly upstream: string;
  /** proxy_ssl_name with variables, evaluated; null: the setting as written, or its default. */
  readonly sslName: string | null;
  readonly listen: string;
  /** proxy_ssl_alpn with variables, evaluated; null: the setting as written. */
  readonly alpn?: readonly string[] | null;
}

export async function connectUpstreamTls(
  tls: RouteTls,
  peer: Peer,
  names: UpstreamTlsNames,
  options: ConnectOptions,
  /** proxy_protocol's header: sent before the handshake with proxy_ssl, else left to the caller. */
  preface: Uint8Array | null = null,
): Promise<UpstreamConnection> {
  const s = tls.settings;
  const upstreamName = names.upstream;
  const listenName = names.listen;
  // proxy_ssl_name's default: the proxy_pass host, without a port (nginx strips it).
  const name = names.sslName ?? s.proxySslName ?? upstreamName.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  const client = tls.proxy && {
    ...tls.proxy,
    serverName: s.proxySslServerName ? name : null,
    sessionKey: s.proxySslSessionReuse ? `${listenName} ${upstreamName} ${peer.address}` : null,
    alpn: alpnProtocols(names.alpn ?? s.proxySslAlpn),
    preface,
  };
  const { connection, facts } = await tls.support.connect(peer.config, options, client);
  if (facts && s.proxySslVerify) {
    const error = upstreamVerifyError(facts, name, s.proxySslVerifyDepth);
    if (error !== null) {
      connection.close();
      throw new UpstreamTlsRefused(error);
    }
  }
  return connection;
}

/** proxy_ssl_alpn's values as sent: one that came out empty or over 255 bytes is skipped, as nginx does. */
export function alpnProtocols(values: readonly string[]): string[] {
  return values.filter((v) => v !== "" && utf8Length(v) <= 255);
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** nginx's log message for a try TLS failed; null for any other failure. */
export function upstreamTlsFailure(err: unknown): string | null {
  if (err instanceof UpstreamTlsRefused) return `${err.message} while SSL handshaking to upstream`;
  if (err instanceof TlsHandshakeError) return handshakeFailure(err, "upstream", "while SSL handshaking to upstream").message;
  return null;
}
