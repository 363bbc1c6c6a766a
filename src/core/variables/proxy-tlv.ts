// `$proxy_protocol_tlv_NAME`: looks a TLV up in a PROXY v2 header's TLV area at each
// evaluation, as nginx does (ngx_proxy_protocol_get_tlv). Values are raw bytes, returned
// as a latin1 string (one char per byte).

const TOP: Readonly<Record<string, number>> = { alpn: 0x01, authority: 0x02, unique_id: 0x05, ssl: 0x20, netns: 0x30 };
const SSL_SUB: Readonly<Record<string, number>> = {
  version: 0x21,
  cn: 0x22,
  cipher: 0x23,
  sig_alg: 0x24,
  key_alg: 0x25,
};
const SSL_TYPE = 0x20;

/** What a lookup gives: the value, "none" (not found), or an error nginx logs (value empty). */
export type TlvResult = { readonly value: string } | "none" | { readonly error: string };

type Wanted = { readonly type: number; readonly inSsl: boolean } | { readonly verify: true } | null;

/**
 * `0x2`, `0x2a`, `0x000ae`: nginx reads all the hex after `0x` (ngx_hextoi), leading zeros
 * included; a number past one byte is no TLV's type, so it is simply not found.
 */
function hexType(text: string): number | null {
  if (!/^0x[0-9a-f]{1,12}$/i.test(text)) return null;
  return parseInt(text.slice(2), 16);
}

function resolveName(name: string): Wanted {
  const lower = name.toLowerCase();
  const top = TOP[lower] ?? hexType(lower);
  if (top !== null && top !== undefined) return { type: top, inSsl: false };
  if (!lower.startsWith("ssl_")) return null;
  const rest = lower.slice(4);
  if (rest === "verify") return { verify: true };
  const sub = SSL_SUB[rest] ?? hexType(rest);
  return sub === null || sub === undefined ? null : { type: sub, inSsl: true };
}

/** Finds the first TLV of `type` in `area[from, to)`: its value range, "none" or "broken". */
function find(area: Uint8Array, from: number, to: number, type: number): [number, number] | "none" | "broken" {
  let p = from;
  while (p < to) {
    if (to - p < 3) return "broken";
    const len = (area[p + 1]! << 8) | area[p + 2]!;
    if (to - p - 3 < len) return "broken";
    if (area[p] === type) return [p + 3, p + 3 + len];
    p += 3 + len;
  }
  return "none";
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Looks `name` up in `tlvs` (null after a v1 header: nothing is found, but names are still checked). */
export function lookupTlv(tlvs: Uint8Array | null, name: string): TlvResult {
  const wanted = resolveName(name);
  if (wanted === null) return { error: `unknown PROXY protocol TLV "${name}"` };
  if (tlvs === null) return "none";
  const broken = { error: "broken PROXY protocol TLV" } as const;
  if ("type" in wanted && !wanted.inSsl) {
    const r = find(tlvs, 0, tlvs.length, wanted.type);
    return r === "broken" ? broken : r === "none" ? "none" : { value: latin1(tlvs, r[0], r[1]) };
  }
  const ssl = find(tlvs, 0, tlvs.length, SSL_TYPE);
  if (ssl === "broken") return broken;
  if (ssl === "none") return "none";
  // The SSL TLV: client (1 byte), verify (4 bytes, big-endian), then sub-TLVs.
  const [start, end] = ssl;
  if (end - start < 5) return broken;
  if ("verify" in wanted) {
    const v = ((tlvs[start + 1]! << 24) | (tlvs[start + 2]! << 16) | (tlvs[start + 3]! << 8) | tlvs[start + 4]!) >>> 0;
    return { value: String(v) };
  }
  const r = find(tlvs, start + 5, end, wanted.type);
  return r === "broken" ? broken : r === "none" ? "none" : { value: latin1(tlvs, r[0], r[1]) };
}
