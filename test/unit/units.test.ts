// nginx's time and size values (ngx_parse_time, ngx_parse_size). Where a case is a surprise
// (`1hm`, `"30 s"`), nginx 1.22 was asked and said the same.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatSize, formatTime, parseSize, parseTime } from "../../src/core/config/values/units.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("nginx times", () => {
  const ms: Array<[string, number | null]> = [
    ["30s", 30 * S],
    ["5", 5 * S], // a bare number is seconds, even for millisecond directives
    ["0", 0],
    ["500ms", 500],
    ["1h30m", H + 30 * M],
    ["1h 30m", H + 30 * M], // spaces may follow a unit (quoted in a config)
    ["1h  30", H + 30 * S],
    ["1s500ms", S + 500],
    ["1d1h", D + H],
    ["2w", 14 * D],
    ["10m", 10 * M], // minutes, not months
    ["1hm", H], // a unit without digits adds nothing
    ["30 ", 30 * S],
    // invalid
    ["1M", null], // months and years only where nginx keeps seconds
    ["1y", null],
    ["1m1h", null], // out of order
    ["1h1h", null], // repeated
    ["1ms1s", null],
    ["1 h", null], // a space right after digits ends the value
    ["30 s", null],
    [" 30s", null],
    ["h", null],
    ["", null],
    ["1.5s", null],
    ["-1s", null],
    ["1x", null],
    ["99999999999999999999", null], // overflow
  ];
  for (const [text, expected] of ms) {
    test(`${JSON.stringify(text)} for a millisecond directive is ${expected === null ? "invalid" : `${expected} ms`}`, () => {
      assert.equal(parseTime(text, "ms"), expected);
    });
  }

  const sec: Array<[string, number | null]> = [
    ["30s", 30 * S],
    ["10", 10 * S],
    ["1M", 30 * D],
    ["1y", 365 * D],
    ["1y1M1w1d1h1m1s", 365 * D + 30 * D + 7 * D + D + H + M + S],
    ["1ms", null], // no milliseconds where nginx keeps seconds
    ["500ms", null],
    ["1M1y", null],
  ];
  for (const [text, expected] of sec) {
    test(`${JSON.stringify(text)} for a seconds value (fail_timeout=) is ${expected === null ? "invalid" : `${expected} ms`}`, () => {
      assert.equal(parseTime(text, "s"), expected);
    });
  }

  test("formatTime writes the shortest spelling that parses back", () => {
    for (const v of [0, 1, 500, S, 90 * S, M, 10 * M, H, H + 30 * M, D, 36 * D, 1234567]) {
      assert.equal(parseTime(formatTime(v), "ms"), v, formatTime(v));
    }
    assert.equal(formatTime(30 * S), "30s");
    assert.equal(formatTime(10 * M), "10m");
    assert.equal(formatTime(1500), "1500ms");
  });

  // Found by test/unit/fuzz-convert.test.ts: "150116033m237274741ms" read as 9007199254741 ms
  // and was written as "9007199254741ms", one digit-bound too long for parseTime to take back.
  test("formatTime writes a time past parseTime's one-number bound as seconds then milliseconds", () => {
    const ms = parseTime("150116033m237274741ms", "ms")!;
    assert.equal(ms, 9_007_199_254_741);
    assert.equal(formatTime(ms), "9007199254s741ms");
    assert.equal(parseTime(formatTime(ms), "ms"), ms);
  });
});

describe("nginx sizes", () => {
  const cases: Array<[string, number | null]> = [
    ["16k", 16 * 1024],
    ["16K", 16 * 1024],
    ["1m", 1024 * 1024],
    ["1M", 1024 * 1024],
    ["4096", 4096],
    ["0", 0],
    ["1g", null], // g is for offsets, not sizes
    ["1G", null],
    ["k", null],
    ["1kb", null],
    ["1.5k", null],
    ["-1", null],
    ["", null],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} is ${expected === null ? "invalid" : `${expected} bytes`}`, () => {
      assert.equal(parseSize(text), expected);
    });
  }

  test("formatSize writes the shortest spelling that parses back", () => {
    for (const v of [0, 1, 1000, 1024, 4096, 16 * 1024, 1024 * 1024, 3 * 1024 * 1024, 1536]) {
      assert.equal(parseSize(formatSize(v)), v, formatSize(v));
    }
    assert.equal(formatSize(16 * 1024), "16k");
    assert.equal(formatSize(1024 * 1024), "1m");
  });
});
