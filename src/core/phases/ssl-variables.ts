// The `$ssl_*` variables (ngx_stream_ssl_module's table) from a finished handshake's facts.
// null = not found: plain TCP, or what the runtime's TLS does not tell (the client's cipher
// and curve lists, signature algorithms, ECH), so a log shows `-` rather than a guess.
import type { TlsFacts } from "../runtime-tls.ts";
import { x509Error } from "./ssl.ts";

const DAY_MS = 86_400_000;

/** Marks the facts of a handshake still running (helloFacts). */
const HANDSHAKING = Symbol("handshaking");

/**
 * What is known once the ClientHello is read, before the handshake ends: its name, which
 * nginx's certificate callback reads as $ssl_server_name; the other $ssl_* are not found yet.
 */
export function helloFacts(serverName: string): TlsFacts {
  return {
    protocol: "",
    cipher: "",
    serverName,
    alpnProtocol: "",
    sessionReused: false,
    sessionId: "",
    peerCert: null,
    verifyError: null,
    chainDepth: 0,
    [HANDSHAKING]: true,
  } as TlsFacts;
}

/** `$ssl_NAME` for `name` without the `ssl_` prefix. */
export function sslVariable(facts: TlsFacts | null, name: string, nowMs: number): string | null {
  if (facts === null) return null;
  if (HANDSHAKING in facts) return name === "server_name" ? facts.serverName : null;
  const cert = facts.peerCert;
  switch (name) {
    case "protocol":
      return facts.protocol;
    case "cipher":
      return facts.cipher;
    case "session_id":
      return facts.sessionId;
    case "session_reused":
      return facts.sessionReused ? "r" : ".";
    case "server_name":
      return facts.serverName;
    case "alpn_protocol":
      return facts.alpnProtocol;
    case "client_verify":
      if (cert === null) return "NONE";
      return facts.verifyError === null ? "SUCCESS" : `FAILED:${x509Error(facts.verifyError).replace(/^\d+:/, "")}`;
  }
  if (!name.startsWith("client_")) return null;
  // nginx gives "" for each of these when the client sent no certificate.
  switch (name) {
    case "client_raw_cert":
      return cert?.pem ?? "";
    case "client_cert":
      // The deprecated form: every line after the first starts with a tab.
      return cert ? cert.pem.replace(/\n$/, "").replace(/\n/g, "\n\t") + "\n" : "";
    case "client_escaped_cert":
      return cert ? encodeURIComponent(cert.pem) : "";
    case "client_s_dn":
      return cert?.subject ?? "";
    case "client_i_dn":
      return cert?.issuer ?? "";
    case "client_serial":
      return cert?.serial ?? "";
    case "client_fingerprint":
      return cert?.fingerprint ?? "";
    case "client_v_start":
      return cert?.validFrom ?? "";
    case "client_v_end":
      return cert?.validTo ?? "";
    case "client_v_remain": {
      if (!cert) return "";
      const end = Date.parse(cert.validTo);
      return Number.isNaN(end) ? "" : String(Math.max(0, Math.floor((end - nowMs) / DAY_MS)));
    }
  }
  return null;
}
