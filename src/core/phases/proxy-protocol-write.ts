// The PROXY header nginx sends upstream with `proxy_protocol on` (v1) or `v2` (1.31.4+): it
// describes the client connection, source = the client (after realip), destination = the
// local address the client reached. The caller sends it ahead of any client bytes.
import { crc32c } from "./crc32c.ts";
import { addressBytes, formatIPv4, formatIPv6 } from "./ip-text.ts";

/** One end of the client connection as the runtime reports it. */
export type PeerAddress =
  | { readonly family: "ipv4" | "ipv6"; readonly address: string; readonly port: number }
  | { readonly family: "unix" };

/**
 * What nginx puts in the v2 header when it terminated TLS on the client connection
 * (ngx_stream_ssl_module on the listener); absent fields are left out of the header.
 */
export interface ProxyProtocolTls {
  /** The client's SNI → AUTHORITY (0x02). */
  readonly serverName?: string;
  /** The negotiated ALPN protocol → ALPN (0x01). */
  readonly alpn?: string;
  /** A client certificate exists (client flag 0x04). */
  readonly clientCert: boolean;
  /** That certificate was sent on this connection, not taken from a resumed session (0x02). */
  readonly certOnConnection: boolean;
  /** The X509 verify result; nginx writes 1 when there is no certificate. */
  readonly verify: number;
  readonly version?: string;
  /** Only written with a client certificate. */
  readonly cn?: string;
  readonly cipher?: string;
  readonly sigAlg?: string;
  readonly keyAlg?: string;
}

const CRLF = "\r\n";

/**
 * v1: `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`, the family being the client's; a client
 * that is not IP (unix socket) gives `PROXY UNKNOWN\r\n`. null when an address does not
 * parse: nginx fails the session with 500 when it cannot build the header.
 */
export function proxyProtocolV1(client: PeerAddress, local: PeerAddress): Uint8Array | null {
  if (client.family === "unix") return latin1(`PROXY UNKNOWN${CRLF}`);
  // An IP client reached an IP listener: a unix local end cannot happen, so it is a failure.
  if (local.family === "unix") return null;
  const src = addressText(client);
  const dst = addressText(local);
  if (src === null || dst === null) return null;
  const tag = client.family === "ipv4" ? "TCP4" : "TCP6";
  return latin1(`PROXY ${tag} ${src} ${dst} ${client.port} ${local.port}${CRLF}`);
}

function addressText(a: { readonly family: "ipv4" | "ipv6"; readonly address: string }): string | null {
  const b = addressBytes(a.address);
  if (b === null) return null;
  if (a.family === "ipv4") return b.length === 4 ? formatIPv4(b) : null;
  return formatIPv6(b.length === 16 ? b : mapped(b));
}

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const CMD_PROXY = 0x21;
const CMD_LOCAL = 0x20;

/**
 * v2: signature, version/command, family/transport (INET when both ends are IPv4 or
 * v4-mapped, else INET6 with IPv4 ends written as ::ffff:a.b.c.d; STREAM for TCP, DGRAM
 * for UDP; LOCAL/UNSPEC without addresses when an end is not IP), the TLS TLVs when
 * `tls` is given, and always last a CRC32C TLV over the whole header. null when an
 * address does not parse.
 */
export function proxyProtocolV2(
  client: PeerAddress,
  local: PeerAddress,
  options: { readonly transport: "tcp" | "udp"; readonly tls?: ProxyProtocolTls },
): Uint8Array | null {
  const parts: number[] = [...SIGNATURE];
  if (client.family === "unix" || local.family === "unix") {
    parts.push(CMD_LOCAL, 0x00, 0, 0);
  } else {
    const src = addressBytes(client.address);
    const dst = addressBytes(local.address);
    if (src === null || dst === null) return null;
    const src16 = src.length === 16 ? src : mapped(src);
    const dst16 = dst.length === 16 ? dst : mapped(dst);
    const inet = isMapped(src16) && isMapped(dst16);
    const transport = options.transport === "tcp" ? 0x1 : 0x2;
    parts.push(CMD_PROXY, ((inet ? 0x1 : 0x2) << 4) | transport, 0, 0);
    for (const b of inet ? src16.subarray(12) : src16) parts.push(b);
    for (const b of inet ? dst16.subarray(12) : dst16) parts.push(b);
    parts.push(client.port >> 8, client.port & 0xff, local.port >> 8, local.port & 0xff);
  }
  if (options.tls) pushTls(parts, options.tls);
  const crcAt = parts.length + 3;
  parts.push(0x03, 0, 4, 0, 0, 0, 0);
  const out = Uint8Array.from(parts);
  const len = out.length - 16;
  out[14] = len >> 8;
  out[15] = len & 0xff;
  const crc = crc32c(out);
  out[crcAt] = crc >>> 24;
  out[crcAt + 1] = (crc >>> 16) & 0xff;
  out[crcAt + 2] = (crc >>> 8) & 0xff;
  out[crcAt + 3] = crc & 0xff;
  return out;
}

function pushTls(parts: number[], tls: ProxyProtocolTls): void {
  if (tls.serverName !== undefined) pushTlv(parts, 0x02, utf8(tls.serverName));
  if (tls.alpn !== undefined) pushTlv(parts, 0x01, utf8(tls.alpn));
  const client = 0x01 | (tls.clientCert ? 0x04 : 0) | (tls.certOnConnection ? 0x02 : 0);
  const verify = tls.verify >>> 0;
  const body: number[] = [client, verify >>> 24, (verify >>> 16) & 0xff, (verify >>> 8) & 0xff, verify & 0xff];
  if (tls.version !== undefined) pushTlv(body, 0x21, utf8(tls.version));
  if (tls.cn !== undefined && tls.clientCert) pushTlv(body, 0x22, utf8(tls.cn));
  if (tls.cipher !== undefined) pushTlv(body, 0x23, utf8(tls.cipher));
  if (tls.sigAlg !== undefined) pushTlv(body, 0x24, utf8(tls.sigAlg));
  if (tls.keyAlg !== undefined) pushTlv(body, 0x25, utf8(tls.keyAlg));
  pushTlv(parts, 0x20, Uint8Array.from(body));
}

function pushTlv(parts: number[], type: number, value: Uint8Array): void {
  parts.push(type, value.length >> 8, value.length & 0xff);
  for (const b of value) parts.push(b);
}

function mapped(v4: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4, 12);
  return b;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const encoder = new TextEncoder();

function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
