// What each runtime's node:tls cannot do as nginx's directives say: such a config is refused
// on that runtime rather than run weaker (RUNTIMES-2.md §2.2, checked in test/e2e/tls.test.ts).
import type { TlsClientOptions, TlsServerOptions } from "../../core/runtime-tls.ts";
import { isServerOptions, type TlsLimits } from "./index.ts";
import { ticketKeyFilesWork } from "./ticket-keys.ts";

export const NODE_LIMITS = (openssl: string): TlsLimits => ({
  library: `OpenSSL ${openssl}`,
  sni: true,
  ticketKeysUnshared: null,
  cannot(o) {
    const keys = isServerOptions(o) ? o.ticketKeys ?? [] : [];
    if (keys.length === 0) return null;
    if (!ticketKeyFilesWork()) return `"ssl_session_ticket_key"`;
    // nginx encrypts with AES-256 under an 80-byte key; node:tls's ticket callback takes AES-128 keys only.
    if (keys.some((k) => k.length === 80)) return `"ssl_session_ticket_key" with an 80-byte key (AES-256 tickets)`;
    return null;
  },
});

/** Bun's node:tls on BoringSSL. */
export const BUN_LIMITS: TlsLimits = {
  library: "BoringSSL",
  sni: true,
  // Checked on Bun 1.4.5: createSecureContext ignores `ticketKeys`, setTicketKeys throws.
  ticketKeysUnshared: "Bun's node:tls takes no ticket keys: each process makes its own",
  cannot(o) {
    if (isServerOptions(o)) {
      if (o.crl !== null) return `"ssl_crl"`;
      if (o.ecdhCurve !== "auto") return `"ssl_ecdh_curve ${o.ecdhCurve}"`;
      if ((o.ticketKeys ?? []).length > 0) return `"ssl_session_ticket_key"`;
    } else {
      if (o.crl !== null) return `"proxy_ssl_crl"`;
    }
    return null;
  },
};

/** Deno's node:tls on rustls: TLS 1.2 and 1.3 with rustls's own suites, curves and tickets. */
export const DENO_LIMITS: TlsLimits = {
  library: "rustls",
  sni: true,
  // Checked on Deno: `ticketKeys` is accepted and ignored; rustls makes its own per process.
  ticketKeysUnshared: "Deno's node:tls (rustls) ignores ticket keys: each process makes its own",
  cannot(o: TlsServerOptions | TlsClientOptions) {
    const server = isServerOptions(o);
    const p = server ? "ssl_" : "proxy_ssl_";
    if (o.protocols.some((x) => x === "TLSv1" || x === "TLSv1.1")) return `"${p}protocols" with TLSv1 or TLSv1.1`;
    if (o.ciphers !== (server ? "HIGH:!aNULL:!MD5" : "DEFAULT")) return `"${p}ciphers ${o.ciphers}"`;
    if (o.crl !== null) return `"${p}crl"`;
    if (server) {
      if (o.preferServerCiphers) return `"ssl_prefer_server_ciphers on"`;
      if (o.ecdhCurve !== "auto") return `"ssl_ecdh_curve ${o.ecdhCurve}"`;
      if (!o.sessionTickets) return `"ssl_session_tickets off"`;
      if ((o.ticketKeys ?? []).length > 0) return `"ssl_session_ticket_key"`;
    }
    return null;
  },
};
