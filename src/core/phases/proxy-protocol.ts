// Reading the PROXY protocol header (`listen … proxy_protocol`), v1 text and v2 binary, with
// the acceptance rules of nginx's ngx_proxy_protocol_read: what it tolerates (empty v1
// addresses, leading zeros in ports, junk after UNKNOWN, LOCAL and non-TCP v2 headers) and
// what it rejects, with the line it logs. Pure: bytes in, a verdict out; nothing is kept
// between calls, so the caller may call it again with more bytes and get the same answer
// whatever way they were split.
//
// nginx peeks once (up to 4096 bytes) and judges that peek: a header cut short is broken.
// `final: false` is the tolerant mode: it answers "need-more" while the bytes so far can
// still become a valid header. `final: true` is nginx's one-shot verdict on exactly these
// bytes. Either way only the first PROXY_PROTOCOL_MAX_HEADER bytes are looked at, and a
// window that full is judged as final, as nginx's peek buffer is.
import { formatIPv4, formatIPv6 } from "./ip-text.ts";

/** nginx's peek size (NGX_PROXY_PROTOCOL_MAX_HEADER): no header, v1 or v2, is longer. */
export const PROXY_PROTOCOL_MAX_HEADER = 4096;
/** The v1 header nginx writes is at most this long (NGX_PROXY_PROTOCOL_V1_MAX_HEADER). */
export const PROXY_PROTOCOL_V1_MAX_HEADER = 107;

/**
 * A header that names addresses: $proxy_protocol_addr/_port/_server_addr/_server_port, and
 * realip's source. v1 addresses are the text as sent (nginx keeps it unchecked); v2 ones are
 * printed as nginx prints them. `tlvs` is the raw v2 TLV area (empty for v1), read by
 * variables/proxy-tlv.ts at each evaluation, as nginx does.
 */
export interface ProxyProtocolAddresses {
  readonly kind: "addresses";
  readonly version: 1 | 2;
  readonly family: "TCP4" | "TCP6";
  readonly srcAddr: string;
  readonly srcPort: number;
  readonly dstAddr: string;
  readonly dstPort: number;
  readonly tlvs: Uint8Array;
}

/**
 * A valid header that carries no addresses: v1 `PROXY UNKNOWN`, v2 LOCAL, or a v2 PROXY
 * header for a transport other than STREAM or a family other than INET/INET6 ("UNKNOWN").
 * nginx then sets no c->proxy_protocol: the connection keeps its own addresses,
 * $proxy_protocol_* are not found, TLV lookups too (without a log line), and realip does
 * nothing. The caller does the same: it uses the socket's addresses as if no header existed.
 */
export interface ProxyProtocolNoAddresses {
  readonly kind: "none";
  readonly version: 1 | 2;
  readonly family: "UNKNOWN" | "LOCAL";
}

export type ProxyProtocolHeader = ProxyProtocolAddresses | ProxyProtocolNoAddresses;

export type ProxyProtocolResult =
  /** Valid so far; at most `atMost` more bytes can complete (or condemn) the header. */
  | { readonly kind: "need-more"; readonly atMost: number }
  /** `consumed` bytes were the header; everything after is client data, to keep as it is. */
  | { readonly kind: "header"; readonly header: ProxyProtocolHeader; readonly consumed: number }
  /**
   * Broken header: nginx finalizes with $status 400. `log` is the `[error]` line nginx writes,
   * or null where it writes none (a v2 address block shorter than its family needs). The
   * quoted text of `broken header: "…"` holds the bytes as sent, one char per byte (latin1),
   * up to the first CR or LF: nginx writes them raw, so a log writer reproducing nginx
   * byte for byte encodes that text as latin1.
   */
  | { readonly kind: "error"; readonly status: 400; readonly log: string | null };

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V2_HEADER = 16;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

/** The v1 outcome before the mode decides: parsed, broken, or ran out of bytes while valid. */
type V1 = { readonly ok: true; readonly end: number; readonly header: ProxyProtocolHeader } | {
  readonly ok: false;
  readonly short: boolean;
};
const BROKEN: V1 = { ok: false, short: false };
const SHORT: V1 = { ok: false, short: true };

export function readProxyProtocol(bytes: Uint8Array, options: { readonly final?: boolean } = {}): ProxyProtocolResult {
  const len = Math.min(bytes.length, PROXY_PROTOCOL_MAX_HEADER);
  const final = options.final === true || len === PROXY_PROTOCOL_MAX_HEADER;
  let sig = 0;
  while (sig < SIGNATURE.length && sig < len && bytes[sig] === SIGNATURE[sig]) sig++;
  if (sig === SIGNATURE.length && len >= V2_HEADER) return readV2(bytes, len, final);
  if (!final && sig === Math.min(len, SIGNATURE.length) && len < V2_HEADER) return needMore(len);
  const v1 = readV1(bytes, len);
  if (v1.ok) return { kind: "header", header: v1.header, consumed: v1.end };
  if (v1.short && !final) return needMore(len);
  return broken(bytes, len);
}

function needMore(have: number): ProxyProtocolResult {
  return { kind: "need-more", atMost: PROXY_PROTOCOL_MAX_HEADER - have };
}

function broken(bytes: Uint8Array, len: number): ProxyProtocolResult {
  let quote = "";
  for (let i = 0; i < len; i++) {
    const ch = bytes[i]!;
    if (ch === CR || ch === LF) break;
    quote += String.fromCharCode(ch);
  }
  return { kind: "error", status: 400, log: `broken header: "${quote}"` };
}

/** Does bytes[at, len) match `word` as far as it goes? (all: it must hold the whole word) */
function matches(bytes: Uint8Array, at: number, len: number, word: string): "yes" | "prefix" | "no" {
  for (let i = 0; i < word.length; i++) {
    if (at + i >= len) return "prefix";
    if (bytes[at + i] !== word.charCodeAt(i)) return "no";
  }
  return "yes";
}

function readV1(bytes: Uint8Array, len: number): V1 {
  const proxy = matches(bytes, 0, len, "PROXY ");
  if (proxy === "no") return BROKEN;
  if (proxy === "prefix" || len < 8) return SHORT;
  let p = 6;
  const unknown = matches(bytes, p, len, "UNKNOWN");
  if (unknown === "yes") {
    // Anything may follow UNKNOWN up to the first CRLF: nginx skips it unread.
    for (let i = p + 7; i + 1 < len; i++) {
      if (bytes[i] === CR && bytes[i + 1] === LF) {
        return { ok: true, end: i + 2, header: { kind: "none", version: 1, family: "UNKNOWN" } };
      }
    }
    return SHORT;
  }
  if (unknown === "prefix") return SHORT;
  const tcp = matches(bytes, p, len, "TCP");
  if (tcp !== "yes") return tcp === "no" ? BROKEN : SHORT;
  if (p + 3 >= len) return SHORT;
  const v = bytes[p + 3];
  if (v !== 0x34 && v !== 0x36) return BROKEN;
  if (p + 4 >= len) return SHORT;
  if (bytes[p + 4] !== SP) return BROKEN;
  p += 5;
  const src = readAddr(bytes, p, len);
  if (typeof src === "string") return src === "short" ? SHORT : BROKEN;
  const dst = readAddr(bytes, src.next, len);
  if (typeof dst === "string") return dst === "short" ? SHORT : BROKEN;
  const sport = readPort(bytes, dst.next, len, SP);
  if (typeof sport === "string") return sport === "short" ? SHORT : BROKEN;
  const dport = readPort(bytes, sport.next, len, CR);
  if (typeof dport === "string") return dport === "short" ? SHORT : BROKEN;
  p = dport.next;
  if (p >= len) return SHORT;
  if (bytes[p] !== LF) return BROKEN;
  return {
    ok: true,
    end: p + 1,
    header: {
      kind: "addresses",
      version: 1,
      family: v === 0x34 ? "TCP4" : "TCP6",
      srcAddr: src.text,
      srcPort: sport.port,
      dstAddr: dst.text,
      dstPort: dport.port,
      tlvs: new Uint8Array(0),
    },
  };
}

/** An address up to a space: only `0-9a-fA-F.:` (possibly none), never checked further. */
function readAddr(bytes: Uint8Array, at: number, len: number): { text: string; next: number } | "short" | "broken" {
  let text = "";
  for (let i = at; i < len; i++) {
    const ch = bytes[i]!;
    if (ch === SP) return { text, next: i + 1 };
    const ok = ch === 0x3a || ch === 0x2e || (ch >= 0x30 && ch <= 0x39) || (ch >= 0x61 && ch <= 0x66) ||
      (ch >= 0x41 && ch <= 0x46);
    if (!ok) return "broken";
    text += String.fromCharCode(ch);
  }
  return "short";
}

/**
 * A port up to `sep`, as ngx_atoi reads it: one or more digits, 0–65535 (leading zeros fine).
 * nginx reads to the separator before judging; a non-digit or a value already past 65535
 * can only end badly, so it is broken at once (the verdict is the same, just sooner).
 */
function readPort(bytes: Uint8Array, at: number, len: number, sep: number): { port: number; next: number } | "short" | "broken" {
  let n = 0;
  for (let i = at; i < len; i++) {
    const ch = bytes[i]!;
    if (ch === sep) return i === at ? "broken" : { port: n, next: i + 1 };
    if (ch < 0x30 || ch > 0x39) return "broken";
    n = n * 10 + (ch - 0x30);
    if (n > 65535) return "broken";
  }
  return "short";
}

function readV2(bytes: Uint8Array, len: number, final: boolean): ProxyProtocolResult {
  const version = bytes[12]! >> 4;
  if (version !== 2) return { kind: "error", status: 400, log: `unknown PROXY protocol version: ${version}` };
  const end = V2_HEADER + ((bytes[14]! << 8) | bytes[15]!);
  if (end > PROXY_PROTOCOL_MAX_HEADER || (final && end > len)) return { kind: "error", status: 400, log: "header is too large" };
  if (end > len) return { kind: "need-more", atMost: end - len };
  const command = bytes[12]! & 0x0f;
  if (command !== 1) {
    return { kind: "header", header: { kind: "none", version: 2, family: command === 0 ? "LOCAL" : "UNKNOWN" }, consumed: end };
  }
  const none: ProxyProtocolResult = { kind: "header", header: { kind: "none", version: 2, family: "UNKNOWN" }, consumed: end };
  if ((bytes[13]! & 0x0f) !== 1) return none;
  const family = bytes[13]! >> 4;
  const at = V2_HEADER;
  let fields: { family: "TCP4" | "TCP6"; srcAddr: string; dstAddr: string; ports: number };
  if (family === 1) {
    if (end - at < 12) return { kind: "error", status: 400, log: null };
    fields = { family: "TCP4", srcAddr: formatIPv4(bytes, at), dstAddr: formatIPv4(bytes, at + 4), ports: at + 8 };
  } else if (family === 2) {
    if (end - at < 36) return { kind: "error", status: 400, log: null };
    fields = { family: "TCP6", srcAddr: formatIPv6(bytes, at), dstAddr: formatIPv6(bytes, at + 16), ports: at + 32 };
  } else {
    return none;
  }
  const q = fields.ports;
  return {
    kind: "header",
    header: {
      kind: "addresses",
      version: 2,
      family: fields.family,
      srcAddr: fields.srcAddr,
      srcPort: (bytes[q]! << 8) | bytes[q + 1]!,
      dstAddr: fields.dstAddr,
      dstPort: (bytes[q + 2]! << 8) | bytes[q + 3]!,
      // A copy: the caller's read buffer may be reused once the header is consumed.
      tlvs: bytes.slice(q + 4, end),
    },
    consumed: end,
  };
}
