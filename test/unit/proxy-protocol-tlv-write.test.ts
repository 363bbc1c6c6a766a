import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ProxyProtocolHeader, readProxyProtocol } from "../../src/core/phases/proxy-protocol.ts";
import { lookupTlv } from "../../src/core/variables/proxy-tlv.ts";
import { proxyProtocolV1, proxyProtocolV2 } from "../../src/core/phases/proxy-protocol-write.ts";
import { crc32c } from "../../src/core/phases/crc32c.ts";
import { ascii, concat, sslTlvValue, tlv, V2_SIGNATURE, v2Header } from "../support/proxy-protocol-bytes.ts";

/** The lookup a session makes for its header: no header with addresses finds nothing. */
const lookupProxyProtocolTlv = (h: ProxyProtocolHeader | null, name: string) =>
  lookupTlv(h?.kind === "addresses" ? h.tlvs : null, name);

const addrs = Uint8Array.from([192, 0, 2, 1, 192, 0, 2, 2, 0, 123, 0x16, 0x2e]);
const text = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

function parsed(tlvs: Uint8Array): ProxyProtocolHeader {
  const r = readProxyProtocol(v2Header(0x21, 0x11, concat(addrs, tlvs)));
  return r.kind === "header" ? r.header : assert.fail(JSON.stringify(r));
}

function value(h: ProxyProtocolHeader | null, name: string): string {
  const r = lookupProxyProtocolTlv(h, name);
  return r.kind === "value" ? text(r.value) : assert.fail(`${name}: ${JSON.stringify(r)}`);
}

describe("$proxy_protocol_tlv_*", () => {
  const sub = concat(
    tlv(0x21, ascii("TLSv1.2")),
    tlv(0x22, ascii("example.com")),
    tlv(0x23, ascii("AES256-SHA")),
    tlv(0x24, ascii("SHA1")),
    tlv(0x25, ascii("RSA512")),
  );
  const ssl = sslTlvValue(0x01, 255, sub);
  const h = parsed(
    concat(
      tlv(0x1, ascii("ALPN1")),
      tlv(0x2, ascii("localhost")),
      tlv(0x3, ascii("4321")),
      tlv(0x5, ascii("UNIQQ")),
      tlv(0x30, ascii("NETNS")),
      tlv(0xae, ascii("12345")),
      tlv(0x20, ssl),
    ),
  );

  test("nginx's names, hex types (leading zeros too) and the SSL sub-TLVs", () => {
    const expect: Record<string, string> = {
      alpn: "ALPN1",
      authority: "localhost",
      "0x3": "4321",
      "0x03": "4321",
      unique_id: "UNIQQ",
      netns: "NETNS",
      "0x000ae": "12345",
      "0xAE": "12345",
      ssl_verify: "255",
      ssl_version: "TLSv1.2",
      ssl_cn: "example.com",
      ssl_cipher: "AES256-SHA",
      ssl_sig_alg: "SHA1",
      ssl_key_alg: "RSA512",
      ssl_0x23: "AES256-SHA",
    };
    for (const [name, v] of Object.entries(expect)) assert.equal(value(h, name), v, name);
    assert.equal(value(h, "ssl"), text(ssl));
    assert.equal(value(parsed(tlv(0x20, sslTlvValue(0x07, 0xfffffffe, new Uint8Array(0)))), "ssl_verify"), "4294967294");
  });

  test("absent TLVs are not found, silently; a type past 0xff matches nothing", () => {
    for (const name of ["0x000e", "0x100", "0xffffffffffffff0"]) {
      assert.deepEqual(lookupProxyProtocolTlv(h, name), { kind: "not-found" }, name);
    }
    assert.deepEqual(lookupProxyProtocolTlv(parsed(new Uint8Array(0)), "ssl_cn"), { kind: "not-found" });
  });

  test("unknown and invalid names log nginx's line, even after a v1 header", () => {
    assert.deepEqual(lookupProxyProtocolTlv(h, "foo"), { kind: "error", log: 'unknown PROXY protocol TLV "foo"' });
    assert.deepEqual(lookupProxyProtocolTlv(h, "ssl_foo"), { kind: "error", log: 'unknown PROXY protocol TLV "ssl_foo"' });
    assert.deepEqual(lookupProxyProtocolTlv(h, "0x"), { kind: "error", log: 'invalid PROXY protocol TLV "0x"' });
    assert.deepEqual(lookupProxyProtocolTlv(h, "0xg1"), { kind: "error", log: 'invalid PROXY protocol TLV "0xg1"' });
    assert.deepEqual(lookupProxyProtocolTlv(h, "0x8000000000000000"), {
      kind: "error",
      log: 'invalid PROXY protocol TLV "0x8000000000000000"',
    });
    const v1 = readProxyProtocol(ascii("PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n"));
    const v1h = v1.kind === "header" ? v1.header : assert.fail();
    assert.deepEqual(lookupProxyProtocolTlv(v1h, "foo"), { kind: "error", log: 'unknown PROXY protocol TLV "foo"' });
    assert.deepEqual(lookupProxyProtocolTlv(v1h, "alpn"), { kind: "not-found" });
  });

  test("without addresses (no header, UNKNOWN, LOCAL) every name is not found, nothing logged", () => {
    assert.deepEqual(lookupProxyProtocolTlv(null, "foo"), { kind: "not-found" });
    assert.deepEqual(lookupProxyProtocolTlv({ kind: "none", version: 2, family: "LOCAL" }, "foo"), { kind: "not-found" });
  });

  test("a broken area fails only the lookups that reach it; the first of two equal TLVs wins", () => {
    const b = parsed(concat(tlv(0x1, ascii("first")), tlv(0x1, ascii("second")), Uint8Array.from([0x02, 0x00, 0x09, 0x61])));
    assert.equal(value(b, "alpn"), "first");
    assert.deepEqual(lookupProxyProtocolTlv(b, "authority"), { kind: "error", log: "broken PROXY protocol TLV" });
    assert.deepEqual(lookupProxyProtocolTlv(parsed(Uint8Array.from([0x01, 0x00])), "alpn"), {
      kind: "error",
      log: "broken PROXY protocol TLV",
    });
    assert.deepEqual(lookupProxyProtocolTlv(parsed(tlv(0x20, Uint8Array.from([1, 0, 0, 0]))), "ssl_cn"), {
      kind: "error",
      log: null,
    });
  });
});

describe("PROXY header nginx sends", () => {
  const v1 = (...a: Parameters<typeof proxyProtocolV1>) => {
    const b = proxyProtocolV1(...a);
    return b === null ? null : text(b);
  };

  test("v1: nginx's own examples, the client's family, nginx's address text", () => {
    assert.equal(
      v1({ family: "ipv4", address: "1.2.3.4", port: 1111 }, { family: "ipv4", address: "127.0.0.1", port: 32011 }),
      "PROXY TCP4 1.2.3.4 127.0.0.1 1111 32011\r\n",
    );
    assert.equal(
      v1({ family: "ipv6", address: "::1", port: 46070 }, { family: "ipv6", address: "0:0::1", port: 32014 }),
      "PROXY TCP6 ::1 ::1 46070 32014\r\n",
    );
    assert.equal(
      v1({ family: "ipv6", address: "::FFFF:127.0.0.1", port: 5 }, { family: "ipv6", address: "::ffff:7f00:1", port: 6 }),
      "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 5 6\r\n",
    );
    assert.equal(
      v1({ family: "ipv6", address: "fe80::1%eth0", port: 5 }, { family: "ipv4", address: "10.0.0.1", port: 6 }),
      "PROXY TCP6 fe80::1 10.0.0.1 5 6\r\n",
    );
    assert.equal(v1({ family: "unix" }, { family: "unix" }), "PROXY UNKNOWN\r\n");
    assert.equal(v1({ family: "ipv4", address: "not-an-ip", port: 1 }, { family: "ipv4", address: "127.0.0.1", port: 2 }), null);
  });

  test("v2 TCP4: exact bytes, CRC32C last over the header with its own field zeroed", () => {
    const out = proxyProtocolV2({ family: "ipv4", address: "192.0.2.1", port: 123 }, {
      family: "ipv4",
      address: "192.0.2.2",
      port: 5678,
    }, { transport: "tcp" })!;
    const expected = concat(V2_SIGNATURE, Uint8Array.from([0x21, 0x11, 0, 19]), addrs, Uint8Array.from([0x03, 0, 4]));
    assert.deepEqual(out.subarray(0, out.length - 4), expected);
    const zeroed = concat(expected, new Uint8Array(4));
    const crc = crc32c(zeroed);
    assert.deepEqual([...out.subarray(out.length - 4)], [crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
  });

  test("CRC32C is Castagnoli's", () => {
    assert.equal(crc32c(ascii("123456789")), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  });

  test("v2 family: v4-mapped on both ends is INET, mixed is INET6 with ::ffff:, UDP is DGRAM, unix is LOCAL", () => {
    const fam = (b: Uint8Array | null) => (b === null ? null : [b[12], b[13], (b[14]! << 8) | b[15]!]);
    assert.deepEqual(
      fam(
        proxyProtocolV2(
          { family: "ipv6", address: "::ffff:10.0.0.1", port: 1 },
          { family: "ipv4", address: "10.0.0.2", port: 2 },
          { transport: "tcp" },
        ),
      ),
      [0x21, 0x11, 19],
    );
    assert.deepEqual(
      fam(
        proxyProtocolV2({ family: "ipv6", address: "2001:db8::1", port: 1 }, { family: "ipv4", address: "10.0.0.2", port: 2 }, {
          transport: "udp",
        }),
      ),
      [0x21, 0x22, 43],
    );
    assert.deepEqual(
      fam(proxyProtocolV2({ family: "unix" }, { family: "ipv4", address: "10.0.0.2", port: 2 }, { transport: "tcp" })),
      [0x20, 0x00, 7],
    );
    const mixed = readProxyProtocol(
      proxyProtocolV2({ family: "ipv6", address: "2001:db8::1", port: 1 }, { family: "ipv4", address: "10.0.0.2", port: 2 }, {
        transport: "tcp",
      })!,
    );
    assert.equal(mixed.kind === "header" && mixed.header.kind === "addresses" && mixed.header.dstAddr, "::ffff:10.0.0.2");
  });

  test("v2 with TLS: AUTHORITY, ALPN and SSL read back under nginx's names, CRC32C still last", () => {
    const out = proxyProtocolV2({ family: "ipv4", address: "127.0.0.1", port: 40000 }, {
      family: "ipv4",
      address: "127.0.0.1",
      port: 8443,
    }, {
      transport: "tcp",
      tls: {
        serverName: "example.com",
        alpn: "h2",
        clientCert: true,
        certOnConnection: true,
        verify: 0,
        version: "TLSv1.3",
        cn: "client",
        cipher: "TLS_AES_128_GCM_SHA256",
        sigAlg: "RSA-SHA256",
        keyAlg: "RSA2048",
      },
    })!;
    const r = readProxyProtocol(out);
    const h = r.kind === "header" ? r.header : assert.fail();
    assert.equal(h.kind === "addresses" && h.tlvs[0], 0x02);
    const got = ["authority", "alpn", "ssl_verify", "ssl_version", "ssl_cn", "ssl_cipher", "ssl_sig_alg", "ssl_key_alg"].map((
      n,
    ) => value(h, n));
    assert.deepEqual(got, ["example.com", "h2", "0", "TLSv1.3", "client", "TLS_AES_128_GCM_SHA256", "RSA-SHA256", "RSA2048"]);
    const ssl = lookupProxyProtocolTlv(h, "ssl");
    assert.equal(ssl.kind === "value" && ssl.value[0], 0x07);
    assert.equal(h.kind === "addresses" && h.tlvs[h.tlvs.length - 7], 0x03);
    const noCert = proxyProtocolV2({ family: "ipv4", address: "127.0.0.1", port: 1 }, {
      family: "ipv4",
      address: "127.0.0.1",
      port: 2,
    }, { transport: "tcp", tls: { clientCert: false, certOnConnection: false, verify: 1, cn: "ignored" } })!;
    const n = readProxyProtocol(noCert);
    const nh = n.kind === "header" ? n.header : assert.fail();
    assert.deepEqual(lookupProxyProtocolTlv(nh, "ssl_cn"), { kind: "not-found" });
    assert.deepEqual(lookupProxyProtocolTlv(nh, "authority"), { kind: "not-found" });
    assert.equal(value(nh, "ssl_verify"), "1");
  });
});
