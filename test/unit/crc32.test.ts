import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  crc32,
  CRC32_INIT,
  crc32Final,
  crc32Update,
  crc32UpdateByte,
  crc32UpdateDecimal,
  crc32UpdateUint32LE,
} from "../../src/core/balance/crc32.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("crc32", () => {
  test("known zlib vectors", () => {
    assert.equal(crc32(bytes("")), 0);
    assert.equal(crc32(bytes("a")), 0xe8b7be43);
    assert.equal(crc32(bytes("abc")), 0x352441c2);
    assert.equal(crc32(bytes("123456789")), 0xcbf43926);
    assert.equal(crc32(bytes("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  });

  test("results are unsigned 32-bit", () => {
    for (const s of ["a", "abc", "123456789", "\xff\xff"]) {
      const c = crc32(bytes(s));
      assert.ok(c >= 0 && c <= 0xffffffff && Number.isInteger(c), `${s}: ${c}`);
    }
  });

  test("incremental update over parts equals one pass over the concatenation", () => {
    const whole = bytes("The quick brown fox jumps over the lazy dog");
    for (const cut of [0, 1, 7, 20, whole.length]) {
      const state = crc32Update(crc32Update(CRC32_INIT, whole, 0, cut), whole, cut);
      assert.equal(crc32Final(state), crc32(whole));
    }
    assert.equal(crc32(whole, 4, 9), crc32(bytes("quick")));
  });

  test("byte, little-endian uint32 and decimal updates feed the same bytes", () => {
    let s = crc32UpdateByte(crc32UpdateByte(CRC32_INIT, 0x61), 0x62);
    assert.equal(crc32Final(s), crc32(bytes("ab")));
    s = crc32UpdateUint32LE(CRC32_INIT, 0x94130518);
    assert.equal(crc32Final(s), crc32(Uint8Array.of(0x18, 0x05, 0x13, 0x94)));
    for (const n of [0, 1, 9, 10, 20, 99, 100, 12345]) {
      assert.equal(crc32Final(crc32UpdateDecimal(CRC32_INIT, n)), crc32(bytes(String(n))), `n=${n}`);
    }
  });
});
