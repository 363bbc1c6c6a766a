import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientHelloParser, type ClientHelloResult, parseClientHello } from "../../src/core/phases/client-hello.ts";
import { OPENSSL_TLS12_BARE_HEX, OPENSSL_TLS13_SNI_ALPN_HEX } from "../support/openssl-hellos.ts";
import {
  alpnExtension,
  clientHelloMessage,
  extension,
  fromHex,
  records,
  sniExtension,
  supportedVersionsExtension,
} from "../support/client-hello-bytes.ts";
import { ascii, concat } from "../support/proxy-protocol-bytes.ts";

const done = (serverName: string, alpnProtocols: string, protocol: string): ClientHelloResult => ({
  kind: "done",
  vars: { serverName, alpnProtocols, protocol },
});

/** Fed one byte more at a time, and cut in two at every point: the same verdict as whole. */
function assertSplitInvariant(bytes: Uint8Array, limit?: number): ClientHelloResult {
  const whole = parseClientHello(bytes, limit);
  const incremental = new ClientHelloParser(limit);
  let last: ClientHelloResult | null = null;
  for (let k = 0; k <= bytes.length; k++) {
    last = incremental.parse(bytes.subarray(0, k));
    if (last.kind !== "need-more") break;
  }
  assert.deepEqual(last, whole, "byte by byte");
  for (let k = 0; k < bytes.length; k++) {
    const two = new ClientHelloParser(limit);
    const first = two.parse(bytes.subarray(0, k));
    assert.deepEqual(first.kind === "need-more" ? two.parse(bytes) : first, whole, `cut at ${k}`);
  }
  return whole;
}

describe("ssl_preread: ClientHellos from openssl s_client", () => {
  test("TLS 1.3 with SNI and ALPN: name as sent (case kept), ALPN joined, TLSv1.3", () => {
    const hello = fromHex(OPENSSL_TLS13_SNI_ALPN_HEX);
    assert.deepEqual(assertSplitInvariant(hello), done("Mixed.Example.COM", "h2,http/1.1", "TLSv1.3"));
  });

  test("TLS 1.2 without SNI or ALPN: empty values, not 'not found'", () => {
    assert.deepEqual(assertSplitInvariant(fromHex(OPENSSL_TLS12_BARE_HEX)), done("", "", "TLSv1.2"));
  });

  test("the same hello cut into records of every size gives the same variables", () => {
    const hello = fromHex(OPENSSL_TLS13_SNI_ALPN_HEX);
    const message = hello.subarray(5);
    for (let size = 1; size <= 64; size++) {
      assert.deepEqual(
        parseClientHello(records(message, size)),
        done("Mixed.Example.COM", "h2,http/1.1", "TLSv1.3"),
        `records of ${size}`,
      );
    }
  });

  test("preread_buffer_size: a hello that does not fit is 'buffer full'; one that just fits is read", () => {
    const hello = fromHex(OPENSSL_TLS13_SNI_ALPN_HEX);
    assert.deepEqual(parseClientHello(hello, hello.length - 1), { kind: "buffer-full", log: "preread buffer full" });
    assert.equal(parseClientHello(hello, hello.length).kind, "done");
    assert.deepEqual(parseClientHello(hello.subarray(0, 100), 16384).kind, "need-more");
  });
});

describe("ssl_preread: nginx's version rules", () => {
  test("client_version names; the record's own version may be any 3.x", () => {
    const cases: Array<[number, number, string]> = [
      [0x0300, 0x0300, "SSLv3"],
      [0x0301, 0x0301, "TLSv1"],
      [0x0301, 0x0302, "TLSv1.1"],
      [0x0301, 0x0303, "TLSv1.2"],
      [0x0300, 0x0303, "TLSv1.2"],
      [0x0301, 0x0305, ""],
    ];
    for (const [rec, version, name] of cases) {
      assert.deepEqual(
        parseClientHello(records(clientHelloMessage({ version, extensions: [sniExtension("foo")] }), 16384, rec)),
        done("foo", "", name),
        name,
      );
    }
  });

  test("any supported_versions extension means TLSv1.3, whatever it lists", () => {
    const h = clientHelloMessage({ version: 0x0303, extensions: [supportedVersionsExtension(0x7f1c)] });
    assert.deepEqual(assertSplitInvariant(records(h)), done("", "", "TLSv1.3"));
  });

  test("SSLv2-style hellos: the version from bytes 3-4, nothing else", () => {
    const v2 = (major: number, minor: number) =>
      concat(Uint8Array.of(0x80, 0x1c, 0x01, major, minor, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10), new Uint8Array(19));
    assert.deepEqual(parseClientHello(v2(0x00, 0x02)), done("", "", "SSLv2"));
    assert.deepEqual(parseClientHello(v2(0x03, 0x01)), done("", "", "TLSv1"));
    assert.deepEqual(parseClientHello(v2(0x03, 0x01).subarray(0, 5)), done("", "", "TLSv1"));
  });
});

describe("ssl_preread: what nginx reads and where it gives up", () => {
  test("not TLS is decided at the fifth byte, not before", () => {
    assert.deepEqual(parseClientHello(ascii("hi\n")), {
      kind: "need-more",
      vars: { serverName: "", alpnProtocols: "", protocol: "" },
    });
    assert.deepEqual(parseClientHello(ascii("x".repeat(1000))), { kind: "not-tls", reason: "not a handshake" });
    assert.deepEqual(parseClientHello(ascii("xxxxx")), { kind: "not-tls", reason: "not a handshake" });
    assert.deepEqual(parseClientHello(Uint8Array.of(0x16, 0x02, 0x00, 0x00, 0x10)), {
      kind: "not-tls",
      reason: "unsupported SSL version",
    });
  });

  test("a later record that is not a handshake ends it too", () => {
    const m = clientHelloMessage({ extensions: [sniExtension("foo")] });
    const two = concat(records(m.subarray(0, 10)), Uint8Array.of(0x17, 0x03, 0x03, 0x00, 0x01, 0x00));
    assert.deepEqual(parseClientHello(two), { kind: "not-tls", reason: "not a handshake" });
  });

  test("the first SNI extension's first name; the first ALPN extension; empty records are skipped", () => {
    const m = clientHelloMessage({
      extensions: [
        extension(0x17, new Uint8Array(3)),
        sniExtension("One.example", "two.example"),
        sniExtension("three"),
        alpnExtension("h2", "http/1.1", "x"),
        alpnExtension("h3"),
      ],
    });
    assert.deepEqual(assertSplitInvariant(records(m, 7)), done("One.example", "h2,http/1.1,x", "TLSv1.2"));
    const withEmpty = concat(Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x00), records(m));
    assert.deepEqual(parseClientHello(withEmpty), done("One.example", "h2,http/1.1,x", "TLSv1.2"));
  });

  test("an empty SNI name is an empty value; the hello may stop after compression methods", () => {
    assert.deepEqual(parseClientHello(records(clientHelloMessage({ extensions: [sniExtension("")] }))), done("", "", "TLSv1.2"));
    assert.deepEqual(
      assertSplitInvariant(records(clientHelloMessage({ noExtensionBlock: true, sessionId: 32 }))),
      done("", "", "TLSv1.2"),
    );
  });

  test("format errors decline: SNI type not DNS, SNI or ALPN overrunning its list, an empty ALPN name, a short message", () => {
    const notDns = extension(0, Uint8Array.of(0, 4, 1, 0, 1, 0x61));
    const sniOver = extension(0, Uint8Array.of(0, 4, 0, 0, 9, 0x61));
    const alpnOver = extension(16, Uint8Array.of(0, 2, 5, 0x61));
    const cases: Array<[Uint8Array, string]> = [
      [records(clientHelloMessage({ extensions: [notDns] })), "SNI hostname type is not DNS"],
      [records(clientHelloMessage({ extensions: [sniOver] })), "SNI format error"],
      [records(clientHelloMessage({ extensions: [alpnOver] })), "ALPN format error"],
      [records(clientHelloMessage({ extensions: [alpnExtension("h2", "")] })), "ALPN empty protocol"],
      [records(Uint8Array.of(2, 0, 0, 4, 3, 3, 0, 0)), "not a client hello"],
    ];
    for (const [bytes, reason] of cases) assert.deepEqual(assertSplitInvariant(bytes), { kind: "not-tls", reason }, reason);
    const m = clientHelloMessage({ extensions: [sniExtension("foo")] });
    const short = m.slice();
    short[3] = m[3]! - 2; // the message claims two bytes less than its extensions need
    assert.deepEqual(parseClientHello(records(short)), { kind: "not-tls", reason: "failed to parse handshake" });
  });

  test("while waiting, the variables show what nginx has read so far", () => {
    const m = clientHelloMessage({ extensions: [sniExtension("foo"), alpnExtension("h2")] });
    const cut = records(m).subarray(0, 5 + m.length - 3);
    const r = parseClientHello(concat(records(m.subarray(0, m.length - 3)), Uint8Array.of(0x16, 0x03, 0x01, 0x00)));
    assert.deepEqual(r, { kind: "need-more", vars: { serverName: "foo", alpnProtocols: "", protocol: "TLSv1.2" } });
    assert.equal(parseClientHello(cut).kind, "need-more");
  });

  test("a verdict is final: more bytes after it change nothing", () => {
    const p = new ClientHelloParser();
    const hello = records(clientHelloMessage({ extensions: [sniExtension("a")] }));
    const first = p.parse(hello);
    assert.deepEqual(p.parse(concat(hello, ascii("GET / HTTP/1.1\r\n"))), first);
  });
});
