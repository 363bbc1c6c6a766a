import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROXY_PROTOCOL_MAX_HEADER, type ProxyProtocolResult, readProxyProtocol } from "../../src/core/phases/proxy-protocol.ts";
import { formatIPv6 } from "../../src/core/phases/ip-text.ts";
import { ascii, concat, tlv, v2Header } from "../support/proxy-protocol-bytes.ts";

const v4Addrs = [192, 0, 2, 1, 192, 0, 2, 2, 0, 123, 0x16, 0x2e];

function header(r: ProxyProtocolResult) {
  assert.equal(r.kind, "header", JSON.stringify(r));
  return r.kind === "header" ? r : assert.fail();
}

/** Every way of cutting `bytes` in two: the prefix is need-more or the whole verdict. */
function assertSplitInvariant(bytes: Uint8Array): ProxyProtocolResult {
  const whole = readProxyProtocol(bytes);
  for (let k = 0; k < bytes.length; k++) {
    const part = readProxyProtocol(bytes.subarray(0, k));
    if (part.kind === "need-more") {
      assert.ok(part.atMost >= 1 && part.atMost <= PROXY_PROTOCOL_MAX_HEADER - k);
      continue;
    }
    assert.equal(part.kind, whole.kind, `prefix ${k}`);
    if (whole.kind === "header") assert.deepEqual(part, whole, `prefix ${k}`);
  }
  return whole;
}

describe("PROXY protocol v1", () => {
  test("TCP4: addresses, ports and the bytes consumed; client data after it is left alone", () => {
    const bytes = ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1234 5678\r\nGET / HTTP/1.0\r\n");
    const r = header(readProxyProtocol(bytes));
    assert.equal(r.consumed, 42);
    assert.deepEqual(r.header, {
      kind: "addresses",
      version: 1,
      family: "TCP4",
      srcAddr: "192.0.2.1",
      srcPort: 1234,
      dstAddr: "192.0.2.2",
      dstPort: 5678,
      tlvs: new Uint8Array(0),
    });
    assert.equal(new TextDecoder().decode(bytes.subarray(r.consumed)), "GET / HTTP/1.0\r\n");
  });

  test("TCP6 addresses are kept as sent", () => {
    const r = header(readProxyProtocol(ascii("PROXY TCP6 2001:DB8::1 ::1 1 65535\r\n")));
    assert.equal(
      r.header.kind === "addresses" && `${r.header.family} ${r.header.srcAddr} ${r.header.dstAddr} ${r.header.dstPort}`,
      "TCP6 2001:DB8::1 ::1 65535",
    );
  });

  test("what nginx tolerates: empty addresses, unchecked family, leading zeros, port 0", () => {
    const r = header(readProxyProtocol(ascii("PROXY TCP6  1.2.3.4 00080 0\r\n")));
    assert.deepEqual(
      r.header.kind === "addresses" && [r.header.family, r.header.srcAddr, r.header.dstAddr, r.header.srcPort, r.header.dstPort],
      ["TCP6", "", "1.2.3.4", 80, 0],
    );
  });

  test("UNKNOWN keeps no addresses and skips anything up to the first CRLF", () => {
    for (
      const text of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN TCP4 192.0.2.1 192.0.2.2 1234 5678\r\n", "PROXY UNKNOWNjunk\rstill\r\n"]
    ) {
      const r = header(readProxyProtocol(ascii(`${text}data`)));
      assert.deepEqual(r.header, { kind: "none", version: 1, family: "UNKNOWN" });
      assert.equal(r.consumed, text.length);
    }
  });

  test("broken headers: nginx's log line quotes up to the first CR or LF", () => {
    const cases: Array<[string, string]> = [
      ["GET / HTTP/1.0\r\nHost: x\r\n\r\n", "GET / HTTP/1.0"],
      ["PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2"],
      ["PROXY TCP4 1.2.3.g 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.g 1.2.3.4 1 2"],
      ["PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2"],
      ["PROXY TCP4 1.2.3.4 1.2.3.4 1 -2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1 -2"],
      ["PROXY TCP4 1.2.3.4 1.2.3.4  2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4  2"],
      ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2"],
      ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2"],
      ["PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2"],
      ["proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "proxy TCP4 1.2.3.4 1.2.3.4 1 2"],
      ["\x16\x03\x01\x02\x00\x01\xff", "\x16\x03\x01\x02\x00\x01\xff"],
    ];
    for (const [input, quoted] of cases) {
      const r = assertSplitInvariant(ascii(input));
      assert.deepEqual(r, { kind: "error", status: 400, log: `broken header: "${quoted}"` }, input);
    }
  });

  test("final (nginx's single peek): a header cut short is broken, quoted as far as it went", () => {
    assert.deepEqual(readProxyProtocol(ascii("PROXY TCP4 192.0.2.1 192.0"), { final: true }), {
      kind: "error",
      status: 400,
      log: 'broken header: "PROXY TCP4 192.0.2.1 192.0"',
    });
    assert.deepEqual(readProxyProtocol(ascii("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\r"), { final: true }), {
      kind: "error",
      status: 400,
      log: 'broken header: "PROXY TCP4 1.2.3.4 1.2.3.4 1 2"',
    });
    assert.deepEqual(readProxyProtocol(ascii("PROXY "), { final: true }), {
      kind: "error",
      status: 400,
      log: 'broken header: "PROXY "',
    });
    assert.deepEqual(readProxyProtocol(ascii("PROXY UNKNOWN"), { final: true }), {
      kind: "error",
      status: 400,
      log: 'broken header: "PROXY UNKNOWN"',
    });
    assert.deepEqual(readProxyProtocol(new Uint8Array(0), { final: true }), {
      kind: "error",
      status: 400,
      log: 'broken header: ""',
    });
    assert.equal(readProxyProtocol(ascii("PROXY TCP4 192.0.2.1 192.0")).kind, "need-more");
  });

  test("nothing past nginx's 4096-byte window is read: a header not ended by then is broken", () => {
    const long = ascii(`PROXY UNKNOWN ${"x".repeat(PROXY_PROTOCOL_MAX_HEADER)}\r\n`);
    const r = readProxyProtocol(long);
    assert.equal(r.kind === "error" && r.log?.length, `broken header: ""`.length + PROXY_PROTOCOL_MAX_HEADER);
    const fits = ascii(`PROXY UNKNOWN ${"x".repeat(PROXY_PROTOCOL_MAX_HEADER - 16)}\r\n`);
    assert.equal(header(readProxyProtocol(fits)).consumed, PROXY_PROTOCOL_MAX_HEADER);
  });

  test("valid headers give the same answer however they are split", () => {
    for (const text of ["PROXY TCP4 192.0.2.1 192.0.2.2 1234 5678\r\n", "PROXY TCP6 ::1 ::1 0 0\r\n", "PROXY UNKNOWN\r\n"]) {
      const r = header(assertSplitInvariant(concat(ascii(text), ascii("tail"))));
      assert.equal(r.consumed, text.length);
    }
  });
});

describe("PROXY protocol v2", () => {
  test("INET: addresses printed as nginx prints them, the TLV area kept raw, the rest is data", () => {
    const tlvs = concat(tlv(0x01, ascii("h2")), tlv(0xae, ascii("12345")));
    const bytes = concat(v2Header(0x21, 0x11, concat(Uint8Array.from(v4Addrs), tlvs)), ascii("data"));
    const r = header(assertSplitInvariant(bytes));
    assert.equal(r.consumed, bytes.length - 4);
    assert.deepEqual(r.header, {
      kind: "addresses",
      version: 2,
      family: "TCP4",
      srcAddr: "192.0.2.1",
      srcPort: 123,
      dstAddr: "192.0.2.2",
      dstPort: 5678,
      tlvs,
    });
  });

  test("INET6 with nginx's text for ::1 and a v4-mapped address", () => {
    const addrs = new Uint8Array(36);
    addrs[15] = 1;
    addrs.set([0xff, 0xff, 10, 0, 0, 1], 16 + 10);
    addrs.set([0x30, 0x39, 0x01, 0xbb], 32);
    const r = header(readProxyProtocol(v2Header(0x21, 0x21, addrs)));
    assert.deepEqual(
      r.header.kind === "addresses" && [r.header.family, r.header.srcAddr, r.header.srcPort, r.header.dstAddr, r.header.dstPort],
      ["TCP6", "::1", 12345, "::ffff:10.0.0.1", 443],
    );
  });

  test("LOCAL, DGRAM, UNIX and UNSPEC headers carry no addresses but are consumed whole", () => {
    const cases: Array<[number, number, string]> = [
      [0x20, 0x11, "LOCAL"],
      [0x20, 0x00, "LOCAL"],
      [0x2f, 0x11, "UNKNOWN"],
      [0x21, 0x12, "UNKNOWN"],
      [0x21, 0x31, "UNKNOWN"],
      [0x21, 0x01, "UNKNOWN"],
    ];
    for (const [vc, ft, family] of cases) {
      const bytes = v2Header(vc, ft, Uint8Array.from(v4Addrs));
      const r = header(readProxyProtocol(concat(bytes, ascii("x"))));
      assert.deepEqual(r, { kind: "header", header: { kind: "none", version: 2, family }, consumed: bytes.length });
    }
  });

  test("errors: another version, a length beyond the window or the peek, a short address block", () => {
    assert.deepEqual(readProxyProtocol(v2Header(0x11, 0x11, Uint8Array.from(v4Addrs))), {
      kind: "error",
      status: 400,
      log: "unknown PROXY protocol version: 1",
    });
    const huge = v2Header(0x21, 0x11, new Uint8Array(PROXY_PROTOCOL_MAX_HEADER - 15));
    assert.deepEqual(readProxyProtocol(huge.subarray(0, 16)), { kind: "error", status: 400, log: "header is too large" });
    const ok = v2Header(0x21, 0x11, Uint8Array.from(v4Addrs));
    assert.deepEqual(readProxyProtocol(ok.subarray(0, 20), { final: true }), {
      kind: "error",
      status: 400,
      log: "header is too large",
    });
    assert.deepEqual(readProxyProtocol(ok.subarray(0, 20)), { kind: "need-more", atMost: ok.length - 20 });
    assert.deepEqual(readProxyProtocol(v2Header(0x21, 0x11, new Uint8Array(11))), { kind: "error", status: 400, log: null });
    assert.deepEqual(readProxyProtocol(v2Header(0x21, 0x21, new Uint8Array(35))), { kind: "error", status: 400, log: null });
  });

  test("the largest header nginx takes: exactly 4096 bytes", () => {
    const max = v2Header(0x21, 0x11, concat(Uint8Array.from(v4Addrs), new Uint8Array(PROXY_PROTOCOL_MAX_HEADER - 16 - 12)));
    assert.equal(header(readProxyProtocol(max)).consumed, PROXY_PROTOCOL_MAX_HEADER);
  });

  test("a signature too short for a v2 header waits, and in one peek is a broken v1 header", () => {
    const sig = v2Header(0x21, 0x11, Uint8Array.from(v4Addrs)).subarray(0, 15);
    assert.equal(readProxyProtocol(sig).kind, "need-more");
    assert.deepEqual(readProxyProtocol(sig, { final: true }), { kind: "error", status: 400, log: 'broken header: ""' });
  });
});

describe("nginx's IPv6 text", () => {
  test("the longest zero run (two groups or more, the first of equals) and the dotted forms", () => {
    const cases: Array<[string, string]> = [
      ["00000000000000000000000000000001", "::1"],
      ["00000000000000000000000000000000", "::"],
      ["00010000000000000000000000000000", "1::"],
      ["20010db8000000000000000000000001", "2001:db8::1"],
      ["00010000000000020000000000000003", "1:0:0:2::3"],
      ["00010000000200000003000000040000", "1:0:2:0:3:0:4:0"],
      ["00000000000100000000000100000000", "::1:0:0:1:0:0"],
      ["00000000000000000000ffff01020304", "::ffff:1.2.3.4"],
      ["00000000000000000000000001020304", "::1.2.3.4"],
      ["00000000000000000000000000000102", "::0.0.1.2"],
      ["00000000000000000000000000000101", "::101"],
      ["fe800000000000000000000000000abc", "fe80::abc"],
    ];
    for (const [hex, text] of cases) {
      const b = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      assert.equal(formatIPv6(b), text, hex);
    }
  });
});
