// Standard CRC-32 (IEEE, reflected polynomial 0xEDB88320): the one zlib computes and the one
// nginx's ngx_crc32_* use for `hash` and its ketama points. The state is exposed between
// init and final because ketama hashes several parts in a row (host, "\0", port, previous
// point) without building the concatenation.

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** The running state before any byte (ngx_crc32_init). */
export const CRC32_INIT = 0xffffffff;

/** Feeds bytes[start, end) into a running state; returns the new state (not yet final). */
export function crc32Update(state: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = state | 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Feeds one byte. */
export function crc32UpdateByte(state: number, byte: number): number {
  const c = state | 0;
  return (TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)) >>> 0;
}

/** Feeds a 32-bit value as 4 little-endian bytes (ketama's "previous point", as nginx lays it out on x86). */
export function crc32UpdateUint32LE(state: number, value: number): number {
  let c = state | 0;
  c = TABLE[(c ^ value) & 0xff]! ^ (c >>> 8);
  c = TABLE[(c ^ (value >>> 8)) & 0xff]! ^ (c >>> 8);
  c = TABLE[(c ^ (value >>> 16)) & 0xff]! ^ (c >>> 8);
  c = TABLE[(c ^ (value >>> 24)) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Feeds a non-negative integer as its decimal digits (nginx's `%ui` rehash prefix), without a string. */
export function crc32UpdateDecimal(state: number, value: number): number {
  let divisor = 1;
  while (divisor * 10 <= value) divisor *= 10;
  let c = state;
  for (; divisor >= 1; divisor /= 10) c = crc32UpdateByte(c, 0x30 + (Math.floor(value / divisor) % 10));
  return c;
}

/** The checksum of a running state (ngx_crc32_final). */
export function crc32Final(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC-32 of bytes[start, end) in one go (ngx_crc32_long, zlib's crc32). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes, start, end));
}
