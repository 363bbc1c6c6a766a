// ssl_trusted_certificate: CAs a client's certificate may chain to without being named in the
// CertificateRequest (nginx sends only ssl_client_certificate's names). node:tls has one `ca`
// list for both, so the context gets the client list and the chain a client presented is
// checked here against the trusted ones when the library found no issuer for it.
import { X509Certificate } from "node:crypto";
import type tls from "node:tls";

/** The library's verdicts a trusted CA can overturn: it knew no issuer. */
const NO_ISSUER = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

export function parseCertificates(pem: string | null | undefined): X509Certificate[] {
  if (!pem) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * The verdict once `anchors` (trusted and client CAs) are known too: null when the presented
 * chain reaches one of them, each link signed by the next and in its validity period; else the
 * library's own verdict stands. A runtime whose X509Certificate cannot check keeps the latter.
 */
export function verdictWithTrusted(
  socket: tls.TLSSocket,
  verdict: string | null,
  anchors: readonly X509Certificate[],
  nowMs: number,
): string | null {
  if (verdict === null || anchors.length === 0 || !NO_ISSUER.has(verdict)) return verdict;
  try {
    let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
    if (!c?.raw) return verdict;
    for (let depth = 0; c?.raw && depth < 100; depth++) {
      const cert: X509Certificate = new X509Certificate(c.raw);
      if (!current(cert, nowMs)) return verdict;
      if (anchors.some((a) => a.fingerprint256 === cert.fingerprint256)) return null;
      const anchor = anchors.find((a) => cert.checkIssued(a) && cert.verify(a.publicKey));
      if (anchor) return current(anchor, nowMs) ? null : verdict;
      const up: tls.DetailedPeerCertificate | undefined = c.issuerCertificate;
      if (!up?.raw || up === c) return verdict;
      const issuer = new X509Certificate(up.raw);
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return verdict;
      c = up;
    }
  } catch {
    // An X509Certificate method this runtime lacks: the library's verdict stands (fail closed).
  }
  return verdict;
}

function current(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}
