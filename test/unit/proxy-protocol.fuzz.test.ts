// Property tests of the PROXY protocol reader and writers: random and mutated inputs never
// throw, never consume more than given or more than nginx's 4096 bytes, give the same header
// whatever follows it and however it is split, and what the writers build reads back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  PROXY_PROTOCOL_MAX_HEADER,
  type ProxyProtocolHeader,
  type ProxyProtocolResult,
  readProxyProtocol,
} from "../../src/core/phases/proxy-protocol.ts";
import { lookupTlv } from "../../src/core/variables/proxy-tlv.ts";
import { type PeerAddress, proxyProtocolV1, proxyProtocolV2 } from "../../src/core/phases/proxy-protocol-write.ts";
import { formatIPv4, formatIPv6 } from "../../src/core/phases/ip-text.ts";
import { ascii, concat, tlv, v2Header } from "../support/proxy-protocol-bytes.ts";
import { fuzzParams, mutated } from "../support/fuzz.ts";

/** The lookup a session makes for its header: no header with addresses finds nothing. */
const lookupProxyProtocolTlv = (h: ProxyProtocolHeader | null, name: string) =>
  lookupTlv(h?.kind === "addresses" ? h.tlvs : null, name);

// Runs per test (FUZZ_RUNS overrides): 3 × 20 000 random and mutated inputs, 2 × 8 000 round
// trips and 30 000 TLV lookups, about 5 s on Bun or Node, 10 s on Deno. `npm run fuzz` runs
// FUZZ_RUNS (10^6 unless given) per test: 6 × 10^5 in all at FUZZ_RUNS=100000, passed with
// FUZZ_SEED=216452555.
const RUNS = 20_000;

function checkShape(r: ProxyProtocolResult, given: number): void {
  if (r.kind === "need-more") {
    assert.ok(Number.isInteger(r.atMost) && r.atMost >= 1 && r.atMost <= PROXY_PROTOCOL_MAX_HEADER - given);
  } else if (r.kind === "header") {
    assert.ok(r.consumed >= 8 && r.consumed <= given && r.consumed <= PROXY_PROTOCOL_MAX_HEADER);
  } else {
    assert.equal(r.status, 400);
  }
}

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
const ipv6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  ipv4.map((b) => concat(new Uint8Array(10), Uint8Array.of(0xff, 0xff), b)),
  fc.constant(new Uint8Array(16)),
);
const port = fc.integer({ min: 0, max: 65535 });
const tlvs = fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })), { maxLength: 5 });

const v1Valid = fc.tuple(fc.boolean(), ipv4, ipv4, port, port).map(([six, a, b, p, q]) =>
  ascii(`PROXY TCP${six ? "6" : "4"} ${formatIPv4(a)} ${formatIPv4(b)} ${p} ${q}\r\n`)
);
const v2Valid = fc
  .tuple(
    fc.constantFrom(0x20, 0x21),
    fc.constantFrom(0x11, 0x21, 0x12, 0x31, 0x00),
    fc.uint8Array({ minLength: 36, maxLength: 36 }),
    tlvs,
  )
  .map(([vc, ft, addrs, t]) =>
    v2Header(vc, ft, concat(addrs.subarray(0, (ft >> 4) === 1 ? 12 : 36), ...t.map(([type, v]) => tlv(type, v))))
  );
const anyInput = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  mutated(fc.oneof(v1Valid, v2Valid, fc.constant(ascii("PROXY UNKNOWN\r\n")))),
  fc.tuple(fc.oneof(v1Valid, v2Valid), fc.uint8Array({ maxLength: 20 })).map(([h, tail]) => concat(h, tail)),
);

describe("PROXY protocol reader under fuzzing", () => {
  for (const part of [0, 1, 2]) {
    test(`random and mutated inputs (part ${part + 1}/3): no exception, bounded answers, the header independent of what follows and of splits`, () => {
      fc.assert(
        fc.property(anyInput, fc.nat(), fc.boolean(), (bytes, cut, final) => {
          const r = readProxyProtocol(bytes, { final });
          checkShape(r, bytes.length);
          if (r.kind === "header") {
            // Never reads past the header: the bytes after it cannot change the answer.
            assert.deepEqual(readProxyProtocol(bytes.subarray(0, r.consumed)), r);
            assert.deepEqual(readProxyProtocol(concat(bytes.subarray(0, r.consumed), Uint8Array.of(0x0d, 0x0a, 0xff))), r);
          }
          if (!final) {
            const part = readProxyProtocol(bytes.subarray(0, cut % (bytes.length + 1)));
            checkShape(part, cut % (bytes.length + 1));
            if (part.kind !== "need-more") assert.equal(part.kind, r.kind);
            if (part.kind === "header") assert.deepEqual(part, r);
          } else {
            assert.notEqual(r.kind, "need-more");
          }
        }),
        fuzzParams(RUNS, part),
      );
    });
  }

  for (const part of [0, 1]) {
    test(`writer → reader round trip (part ${part + 1}/2): addresses as nginx prints them, ports, TLS TLVs`, () => {
      const end = fc.oneof(ipv4.map((b) => ({ b, family: "ipv4" as const })), ipv6.map((b) => ({ b, family: "ipv6" as const })));
      const text = (e: { b: Uint8Array; family: "ipv4" | "ipv6" }) => (e.family === "ipv4" ? formatIPv4(e.b) : formatIPv6(e.b));
      const tls = fc.option(
        fc.record({
          serverName: fc.string({ maxLength: 30 }),
          alpn: fc.string({ minLength: 1, maxLength: 10 }),
          clientCert: fc.boolean(),
          certOnConnection: fc.boolean(),
          verify: fc.nat(),
          cipher: fc.string({ maxLength: 20 }),
          cn: fc.string({ maxLength: 20 }),
        }),
        { nil: undefined },
      );
      fc.assert(
        fc.property(end, end, port, port, fc.boolean(), tls, (c, l, cp, lp, udp, t) => {
          const client: PeerAddress = { family: c.family, address: text(c), port: cp };
          const local: PeerAddress = { family: l.family, address: text(l), port: lp };
          const v1 = proxyProtocolV1(client, local)!;
          const r1 = readProxyProtocol(v1);
          assert.deepEqual(r1, {
            kind: "header",
            consumed: v1.length,
            header: {
              kind: "addresses",
              version: 1,
              family: c.family === "ipv4" ? "TCP4" : "TCP6",
              srcAddr: text(c),
              srcPort: cp,
              dstAddr: text(l),
              dstPort: lp,
              tlvs: new Uint8Array(0),
            },
          });
          assert.ok(v1.length <= 107);
          const v2 = proxyProtocolV2(client, local, { transport: udp ? "udp" : "tcp", ...(t ? { tls: t } : {}) })!;
          const r2 = readProxyProtocol(v2);
          assert.equal(r2.kind === "header" && r2.consumed, v2.length);
          if (r2.kind !== "header") return;
          if (udp) return assert.deepEqual(r2.header, { kind: "none", version: 2, family: "UNKNOWN" });
          assert.equal(r2.header.kind, "addresses");
          if (r2.header.kind !== "addresses") return;
          assert.deepEqual([r2.header.srcPort, r2.header.dstPort], [cp, lp]);
          const both4 = (e: typeof c) => e.family === "ipv4" || formatIPv6(e.b).startsWith("::ffff:") && e.b[10] === 0xff;
          if (r2.header.family === "TCP4") assert.ok(both4(c) && both4(l));
          const dec = (name: string) => {
            const v = lookupProxyProtocolTlv(r2.header, name);
            return v.kind === "value" ? new TextDecoder().decode(v.value) : v.kind;
          };
          if (t) {
            assert.deepEqual([dec("authority"), dec("alpn"), dec("ssl_cipher"), dec("ssl_verify"), dec("ssl_cn")], [
              t.serverName,
              t.alpn,
              t.cipher,
              String(t.verify >>> 0),
              t.clientCert ? t.cn : "not-found",
            ]);
          }
          assert.equal(lookupProxyProtocolTlv(r2.header, "0x3").kind, "value");
        }),
        fuzzParams(Math.ceil(RUNS * 0.4), 10 + part),
      );
    });
  }

  test("TLV lookups on random TLV areas and names never throw and stay inside the area", () => {
    const name = fc.oneof(
      fc.constantFrom(
        "alpn",
        "authority",
        "unique_id",
        "ssl",
        "netns",
        "ssl_verify",
        "ssl_version",
        "ssl_cn",
        "ssl_cipher",
        "ssl_sig_alg",
        "ssl_key_alg",
        "foo",
        "ssl_",
        "0x",
      ),
      fc.string({ maxLength: 8 }).map((s) => `0x${s}`),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), name, (area, n) => {
        const r = lookupProxyProtocolTlv({
          kind: "addresses",
          version: 2,
          family: "TCP4",
          srcAddr: "",
          srcPort: 0,
          dstAddr: "",
          dstPort: 0,
          tlvs: area,
        }, n);
        if (r.kind === "value") assert.ok(r.value.length <= area.length || n === "ssl_verify");
      }),
      fuzzParams(Math.ceil(RUNS * 1.5), 20),
    );
  });
});
