// What a finished handshake tells, read from a node:tls TLSSocket into the core's TlsFacts.
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import tls from "node:tls";
import type { PeerCertificate, TlsFacts } from "../../core/runtime-tls.ts";

export function socketFacts(socket: tls.TLSSocket, isServer: boolean): TlsFacts {
  const cipher = socket.getCipher() as tls.CipherNameAndProtocol | undefined;
  const detailed = socket.getPeerCertificate(true);
  const peerCert = detailed && detailed.raw ? peerCertificate(detailed) : null;
  const servername = (socket as unknown as { servername?: string | false }).servername;
  return {
    protocol: socket.getProtocol() ?? "",
    cipher: cipher?.name ?? "",
    serverName: isServer && typeof servername === "string" ? servername : "",
    alpnProtocol: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : "",
    sessionReused: socket.isSessionReused(),
    sessionId: "",
    peerCert,
    verifyError: verdict(socket),
    chainDepth: peerCert ? chainDepth(detailed) : 0,
  };
}

/**
 * The library's verdict on the peer's chain. node:tls fills `authorized` only for sockets its
 * own servers and connect() made (Bun does it for every socket); for a TLSSocket made over an
 * accepted socket, Node's and Deno's TLS handle answers (Node: an Error with a code; Deno: the
 * code as text, "" when it verified).
 */
function verdict(socket: tls.TLSSocket): string | null {
  if (socket.authorized) return null;
  if (socket.authorizationError) return String(socket.authorizationError);
  const handle = (socket as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
  if (typeof handle?.verifyError !== "function") return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
  const e = handle.verifyError();
  if (e === null || e === undefined || e === "") return null;
  return typeof e === "string" ? e : String((e as { code?: unknown }).code ?? "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
}

function peerCertificate(c: tls.DetailedPeerCertificate): PeerCertificate {
  let x509: X509Certificate | null = null;
  try {
    x509 = new X509Certificate(c.raw);
  } catch {
    // A certificate the library took but this parser does not: the names stay as node:tls read them.
  }
  const b64 = c.raw.toString("base64").replace(/.{64}/g, "$&\n");
  return {
    subject: x509 ? rfc2253(x509.subject) : "",
    issuer: x509 ? rfc2253(x509.issuer) : "",
    serial: (c.serialNumber ?? "").toUpperCase(),
    fingerprint: (c.fingerprint ?? "").replaceAll(":", "").toLowerCase(),
    pem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`,
    validFrom: c.valid_from ?? "",
    validTo: c.valid_to ?? "",
    matches: (name) => x509 !== null && (isIP(name) ? x509.checkIP(name) !== undefined : x509.checkHost(name) !== undefined),
  };
}

/** node:crypto's one-per-line subject, most significant first, as RFC 2253 (least first). */
function rfc2253(lines: string): string {
  return lines.split("\n").filter((l) => l !== "").reverse().join(",");
}

/** Certificates above the peer's own in the chain it presented and the library built. */
function chainDepth(c: tls.DetailedPeerCertificate): number {
  let depth = 0;
  let cur = c;
  while (cur.issuerCertificate && cur.issuerCertificate !== cur && depth < 100) {
    depth++;
    cur = cur.issuerCertificate;
  }
  return depth;
}
