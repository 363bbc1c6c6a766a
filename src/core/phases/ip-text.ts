// Addresses printed as nginx prints them (ngx_sock_ntop without a port): $proxy_protocol_addr,
// $remote_addr after a PROXY header and the addresses in the v1 header nginx sends all go
// through this, so "::1", "::ffff:1.2.3.4" and "1::2:0:0:3" must come out character for
// character as nginx writes them, whatever the runtime's own formatting does.
import { parseIPv4, parseIPv6 } from "../variables/ip.ts";

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * nginx's IPv6 text: the longest run of two or more zero groups (the first of equal runs)
 * becomes "::"; an address whose first 5 groups are zero followed by ffff, or whose first
 * 6 groups are zero, or 7 zero groups and a last group other than 0x0001 whose high byte is
 * not zero, ends in dotted-quad form.
 */
export function formatIPv6(b: Uint8Array, at = 0): string {
  let zero = -1;
  let last = -1;
  let max = 1;
  let n = 0;
  for (let i = 0; i < 16; i += 2) {
    if (b[at + i] !== 0 || b[at + i + 1] !== 0) {
      if (max < n) {
        zero = last;
        max = n;
      }
      n = 0;
      continue;
    }
    if (n++ === 0) last = i;
  }
  if (max < n) {
    zero = last;
    max = n;
  }
  let out = "";
  let end = 16;
  if (zero === 0) {
    const p14 = b[at + 14]!;
    const p15 = b[at + 15]!;
    if ((max === 5 && b[at + 10] === 0xff && b[at + 11] === 0xff) || max === 6 || (max === 7 && p14 !== 0 && p15 !== 1)) {
      end = 12;
    }
    out = ":";
  }
  for (let i = 0; i < end; i += 2) {
    if (i === zero) {
      out += ":";
      i += (max - 1) * 2;
      continue;
    }
    out += ((b[at + i]! << 8) | b[at + i + 1]!).toString(16);
    if (i < 14) out += ":";
  }
  if (end === 12) out += formatIPv4(b, at + 12);
  return out;
}

/** 4 bytes for IPv4 text, 16 for IPv6 text (an optional `%zone` is dropped), else null. */
export function addressBytes(text: string): Uint8Array | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]);
  const pct = text.indexOf("%");
  const v6 = parseIPv6(pct < 0 ? text : text.slice(0, pct));
  if (v6 === null) return null;
  const bytes = new Uint8Array(16);
  for (let i = 15, v = v6; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}
