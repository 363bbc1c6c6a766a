// The DNS wire codec: queries as a stub resolver sends them, answers with compression,
// CNAMEs, SRV, TTLs, the TC bit and error codes, and what it refuses.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeMessage, DNS_TYPE, type DnsMessage, encodeMessage, encodeQuery, RCODE } from "../../src/core/dns/message.ts";

function bytes(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else for (const c of p) out.push(c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

describe("DNS queries", () => {
  test("a query is the RFC 1035 header with RD set and one IN question", () => {
    const q = encodeQuery(0x1234, "be.test", DNS_TYPE.AAAA)!;
    assert.deepEqual(
      q,
      bytes(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, "be", 4, "test", 0, 0, 28, 0, 1),
    );
  });

  test("names that cannot be sent are refused: an empty label, a label over 63 bytes, a name over 255", () => {
    assert.equal(encodeQuery(1, "a..b", DNS_TYPE.A), null);
    assert.equal(encodeQuery(1, `${"x".repeat(64)}.test`, DNS_TYPE.A), null);
    assert.equal(encodeQuery(1, Array(64).fill("abc").join("."), DNS_TYPE.A), null);
    assert.notEqual(encodeQuery(1, `${"x".repeat(63)}.test.`, DNS_TYPE.A), null);
  });
});

describe("DNS answers", () => {
  test("compressed names, A, AAAA, CNAME and SRV records, TTLs, RCODE and the TC bit are read", () => {
    const reply = bytes(
      0xab,
      0xcd,
      0x83,
      0x80,
      0,
      1,
      0,
      4,
      0,
      0,
      0,
      0,
      // question: _http._tcp.Be.TEST SRV IN (offset 12)
      5,
      "_http",
      4,
      "_tcp",
      2,
      "Be",
      4,
      "TEST",
      0,
      0,
      33,
      0,
      1,
      // SRV 1 5 8080 -> x.be.test (pointer to "be.test" at offset 12+6+5=23)
      0xc0,
      12,
      0,
      33,
      0,
      1,
      0,
      0,
      0,
      30,
      0,
      10,
      0,
      1,
      0,
      5,
      0x1f,
      0x90,
      1,
      "x",
      0xc0,
      23,
      // A 127.0.0.1, ttl 0x80000000 (read as 0)
      0xc0,
      23,
      0,
      1,
      0,
      1,
      0x80,
      0,
      0,
      0,
      0,
      4,
      127,
      0,
      0,
      1,
      // AAAA ::1
      0xc0,
      23,
      0,
      28,
      0,
      1,
      0,
      0,
      1,
      0,
      0,
      16,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      // CNAME -> alias.be.test
      0xc0,
      23,
      0,
      5,
      0,
      1,
      0,
      0,
      0,
      7,
      0,
      8,
      5,
      "alias",
      0xc0,
      23,
    );
    const d = decodeMessage(reply);
    assert.ok(d.ok);
    const m = d.message;
    assert.equal(m.id, 0xabcd);
    assert.equal(m.response, true);
    assert.equal(m.truncated, true);
    assert.equal(m.rcode, RCODE.NOERROR);
    assert.deepEqual(m.questions, [{ name: "_http._tcp.be.test", type: 33, klass: 1 }]);
    assert.deepEqual(m.answers.map((a) => [a.name, a.ttl, a.data]), [
      ["_http._tcp.be.test", 30, { kind: "srv", priority: 1, weight: 5, port: 8080, target: "x.be.test" }],
      ["be.test", 0, { kind: "a", address: "127.0.0.1" }],
      ["be.test", 256, { kind: "aaaa", address: "::1" }],
      ["be.test", 7, { kind: "cname", target: "alias.be.test" }],
    ]);
  });

  test("NXDOMAIN and SERVFAIL come through as the RCODE", () => {
    for (const rcode of [RCODE.NXDOMAIN, RCODE.SERVFAIL]) {
      const d = decodeMessage(bytes(0, 7, 0x81, 0x80 | rcode, 0, 0, 0, 0, 0, 0, 0, 0));
      assert.ok(d.ok);
      assert.equal(d.message.rcode, rcode);
    }
  });

  test("broken messages are errors, never exceptions: short, pointer loops, records past the end, bad lengths", () => {
    const header = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    const cases: [string, Uint8Array][] = [
      ["short DNS header", bytes(0, 1, 2)],
      ["DNS name pointer loop", bytes(...header, 0xc0, 12)],
      ["DNS label past the end", bytes(...header, 3, "ab")],
      ["DNS name past the end", bytes(...header, 2, "ab")],
      ["short DNS record", bytes(...header, 0, 0, 1, 0, 1, 0, 0, 1)],
      ["DNS record longer than the message", bytes(...header, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 9, 1)],
      ["bad A record length", bytes(...header, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 3, 1, 2, 3)],
      ["bad DNS label type", bytes(...header, 0x40, 0, 1, 0, 1)],
    ];
    for (const [error, b] of cases) assert.deepEqual(decodeMessage(b), { ok: false, error }, error);
  });

  test("what the encoder writes reads back the same", () => {
    const m: DnsMessage = {
      id: 9,
      response: true,
      opcode: 0,
      truncated: false,
      recursionDesired: true,
      rcode: 0,
      questions: [{ name: "be.test", type: DNS_TYPE.A, klass: 1 }],
      answers: [
        { name: "be.test", type: DNS_TYPE.CNAME, klass: 1, ttl: 5, data: { kind: "cname", target: "b.test" } },
        { name: "b.test", type: DNS_TYPE.A, klass: 1, ttl: 3, data: { kind: "a", address: "10.0.0.2" } },
        { name: "b.test", type: DNS_TYPE.AAAA, klass: 1, ttl: 3, data: { kind: "aaaa", address: "fe80::1:2" } },
        { name: "b.test", type: DNS_TYPE.AAAA, klass: 1, ttl: 3, data: { kind: "aaaa", address: "::ffff:1.2.3.4" } },
      ],
    };
    const d = decodeMessage(encodeMessage(m));
    assert.ok(d.ok);
    assert.deepEqual(d.message, m);
  });
});
