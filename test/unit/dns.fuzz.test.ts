// Property tests of the DNS codec: random and mutated replies never throw and never give a
// record the bytes do not hold; what the encoder writes decodes to the same message.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeMessage, DNS_TYPE, type DnsMessage, type DnsRecord, encodeMessage } from "../../src/core/dns/message.ts";
import { formatIPv4, formatIPv6 } from "../../src/core/phases/ip-text.ts";
import { bounded, fuzzParams, mutated } from "../support/fuzz.ts";

// 2 × 8 000 random and mutated inputs and 2 666 round trips: about 2 s a test on Bun.
const RUNS = 8_000;

const label = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789_-"), minLength: 1, maxLength: 12 });
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join("."));
const ttl = fc.integer({ min: 0, max: 0x7fffffff });
const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.tuple(name, ttl, fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([n, t, b]) => ({
    name: n,
    type: DNS_TYPE.A,
    klass: 1,
    ttl: t,
    data: { kind: "a" as const, address: formatIPv4(b) },
  })),
  fc.tuple(name, ttl, fc.uint8Array({ minLength: 16, maxLength: 16 })).map(([n, t, b]) => ({
    name: n,
    type: DNS_TYPE.AAAA,
    klass: 1,
    ttl: t,
    data: { kind: "aaaa" as const, address: formatIPv6(b) },
  })),
  fc.tuple(name, ttl, name).map(([n, t, target]) => ({
    name: n,
    type: DNS_TYPE.CNAME,
    klass: 1,
    ttl: t,
    data: { kind: "cname" as const, target },
  })),
  fc.tuple(name, ttl, fc.nat(65535), fc.nat(65535), fc.nat(65535), name).map(([n, t, priority, weight, port, target]) => ({
    name: n,
    type: DNS_TYPE.SRV,
    klass: 1,
    ttl: t,
    data: { kind: "srv" as const, priority, weight, port, target },
  })),
);
const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: fc.nat(65535),
  response: fc.boolean(),
  opcode: fc.nat(15),
  truncated: fc.boolean(),
  recursionDesired: fc.boolean(),
  rcode: fc.nat(15),
  questions: fc.array(fc.record({ name, type: fc.constantFrom(1, 28, 33), klass: fc.constant(1) }), { maxLength: 2 }),
  answers: fc.array(record, { maxLength: 6 }),
}).map((m) => JSON.parse(JSON.stringify(m)) as DnsMessage); // plain objects, as the decoder makes
const valid = message.map(encodeMessage);

describe("DNS codec under fuzzing", () => {
  for (const part of [0, 1]) {
    test(`random and mutated replies (part ${part + 1}/2): no exception, records only from the bytes`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(valid)), (b) => {
          const d = bounded("decodeMessage", () => decodeMessage(b));
          if (!d.ok) {
            assert.equal(typeof d.error, "string");
            return;
          }
          // Every record takes at least 11 bytes after a 12-byte header.
          assert.ok(12 + d.message.answers.length * 11 <= b.length);
          for (const r of d.message.answers) {
            assert.ok(r.ttl >= 0 && r.ttl <= 0x7fffffff);
            assert.ok(r.name.length <= 255);
          }
        }),
        fuzzParams(RUNS, part),
      );
    });
  }

  test("what the encoder writes decodes to the same message", () => {
    fc.assert(
      fc.property(message, (m) => {
        const d = decodeMessage(encodeMessage(m));
        assert.ok(d.ok);
        assert.deepEqual(d.message, m);
      }),
      fuzzParams(Math.round(RUNS / 3), 7),
    );
  });
});
