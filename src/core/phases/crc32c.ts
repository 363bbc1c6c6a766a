// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum a PROXY protocol v2
// header carries in its 0x03 TLV. Not the IEEE CRC32 of balance/crc32.ts: another polynomial.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of bytes[start, end): init and final xor 0xFFFFFFFF, as the PROXY v2 spec asks. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
