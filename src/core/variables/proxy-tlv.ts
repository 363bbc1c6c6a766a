// $proxy_protocol_tlv_NAME: nginx's ngx_proxy_protocol_get_tlv. nginx keeps the raw TLV area
// and walks it at every evaluation, so a malformed area is only noticed (and logged) when a
// variable reaches the bad spot; a TLV before it is still found. Names: the table below,
// `0xHH` for any type, `ssl_…` for the SSL TLV's sub-TLVs and `ssl_verify` for its verify
// field printed in decimal. The one lookup: variables, tests and fuzzers all use it.

export type TlvLookup =
  | { readonly kind: "value"; readonly value: Uint8Array }
  /** The variable is not found (no header, a header without addresses, no such TLV). */
  | { readonly kind: "not-found" }
  /** nginx returns an error: the value is empty; `log` is its `[error]` line, if any. */
  | { readonly kind: "error"; readonly log: string | null };

export const PROXY_PROTOCOL_TLV_NAMES: Readonly<Record<string, number>> = {
  alpn: 0x01,
  authority: 0x02,
  unique_id: 0x05,
  ssl: 0x20,
  netns: 0x30,
};

export const PROXY_PROTOCOL_SSL_TLV_NAMES: Readonly<Record<string, number>> = {
  version: 0x21,
  cn: 0x22,
  cipher: 0x23,
  sig_alg: 0x24,
  key_alg: 0x25,
};

const SSL = 0x20;
/** The SSL TLV's fixed part: a client flags byte and a 32-bit verify result. */
const SSL_FIXED = 5;
const NOT_FOUND: TlvLookup = { kind: "not-found" };
const BROKEN: TlvLookup = { kind: "error", log: "broken PROXY protocol TLV" };
const NO_TLVS = new Uint8Array(0);

/**
 * `tlvs`: the header's TLV area (empty after a v1 header), or null when the connection has no
 * header with addresses (nginx's c->proxy_protocol is NULL: nothing is found, no name is
 * judged). `name` is the variable's name after `proxy_protocol_tlv_`; variable names are
 * case-insensitive, as nginx lowercases them.
 */
export function lookupTlv(tlvs: Uint8Array | null, name: string): TlvLookup {
  if (tlvs === null) return NOT_FOUND;
  name = name.toLowerCase();
  let area = tlvs;
  let key = name;
  let table = PROXY_PROTOCOL_TLV_NAMES;
  if (name.startsWith("ssl_")) {
    const ssl = findTlv(area, SSL);
    if (ssl.kind !== "value") return ssl;
    if (ssl.value.length < SSL_FIXED) return { kind: "error", log: null };
    key = name.slice(4);
    if (key === "verify") {
      const v = ssl.value;
      const verify = ((v[1]! << 24) | (v[2]! << 16) | (v[3]! << 8) | v[4]!) >>> 0;
      return { kind: "value", value: ascii(String(verify)) };
    }
    area = ssl.value.subarray(SSL_FIXED);
    table = PROXY_PROTOCOL_SSL_TLV_NAMES;
  }
  let type: number | undefined;
  if (key.startsWith("0x")) {
    type = hexToInt(key.slice(2)) ?? undefined;
    if (type === undefined) return { kind: "error", log: `invalid PROXY protocol TLV "${name}"` };
  } else {
    type = Object.hasOwn(table, key) ? table[key] : undefined;
    if (type === undefined) return { kind: "error", log: `unknown PROXY protocol TLV "${name}"` };
  }
  return findTlv(area, type);
}

/** lookupTlv for a session's header facts: a v1 header has an empty TLV area. */
export function lookupHeaderTlv(header: { readonly tlvs: Uint8Array | null } | null, name: string): TlvLookup {
  return lookupTlv(header === null ? null : header.tlvs ?? NO_TLVS, name);
}

/** The first TLV of `type` in `area`, walking from the start as nginx does. */
export function findTlv(area: Uint8Array, type: number): TlvLookup {
  let p = 0;
  while (p < area.length) {
    if (area.length - p < 3) return BROKEN;
    const len = (area[p + 1]! << 8) | area[p + 2]!;
    p += 3;
    if (area.length - p < len) return BROKEN;
    if (area[p - 3] === type) return { kind: "value", value: area.subarray(p, p + len) };
    p += len;
  }
  return NOT_FOUND;
}

/**
 * ngx_hextoi: one or more hex digits, else null; null too past its overflow cutoff
 * (a signed 64-bit value). A type past 0xff is valid but can match no TLV, so it is kept
 * as a number that no byte equals.
 */
function hexToInt(text: string): number | null {
  if (text.length === 0 || !/^[0-9a-fA-F]+$/.test(text)) return null;
  const digits = text.replace(/^0+/, "");
  if (digits.length > 16 || (digits.length === 16 && parseInt(digits[0]!, 16) > 7)) return null;
  return digits.length > 4 ? 0x10000 : parseInt(digits || "0", 16);
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
