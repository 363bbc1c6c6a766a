// IP address text ↔ numbers, for $binary_remote_addr and geo. IPv4 as an unsigned 32-bit
// number, IPv6 as a 128-bit bigint: geo compares them, nothing here allocates per octet.

/** `1.2.3.4` → 0x01020304, or null. Leading zeros and out-of-range octets are refused. */
export function parseIPv4(text: string): number | null {
  let value = 0;
  let octet = -1;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      octet = octet < 0 ? c - 0x30 : octet * 10 + (c - 0x30);
      if (octet > 255 || ++digits > 3) return null;
    } else if (c === 0x2e && octet >= 0 && dots < 3) {
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
      dots++;
    } else return null;
  }
  if (dots !== 3 || octet < 0) return null;
  return value * 256 + octet;
}

/** `::1`, `2001:db8::1`, `::ffff:1.2.3.4` → 128-bit bigint, or null. */
export function parseIPv6(text: string): bigint | null {
  if (text.length < 2 || text.length > 45 || text.indexOf(":") < 0) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(g);
  return value;
}

/** The v4-mapped prefix ::ffff:0:0/96. */
export const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** `::ffff:1.2.3.4` → `1.2.3.4`: nginx listens ipv6only, so it never sees mapped peers. */
export function unmapIPv4(address: string): string {
  return address.length > 7 && address.charCodeAt(0) === 0x3a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)
    ? address.slice(7)
    : address;
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The address's raw bytes as a latin1 string (4 or 16 chars), or null if it is no IP. */
export function binaryAddress(address: string): string | null {
  const v4 = parseIPv4(address);
  if (v4 !== null) return String.fromCharCode(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  const v6 = parseIPv6(address);
  if (v6 === null) return null;
  let s = "";
  for (let shift = 120n; shift >= 0n; shift -= 8n) s += String.fromCharCode(Number((v6 >> shift) & 255n));
  return s;
}
