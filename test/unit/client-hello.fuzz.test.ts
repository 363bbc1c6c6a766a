// Property tests of ssl_preread's ClientHello parser: random and mutated inputs never throw,
// the verdict never depends on how the bytes arrive, only the first preread_buffer_size bytes
// count, and what a hand-built hello carries is what comes out.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ClientHelloParser, type ClientHelloResult, parseClientHello } from "../../src/core/phases/client-hello.ts";
import {
  alpnExtension,
  clientHelloMessage,
  extension,
  fromHex,
  records,
  sniExtension,
  supportedVersionsExtension,
} from "../support/client-hello-bytes.ts";
import { OPENSSL_TLS13_SNI_ALPN_HEX } from "../support/openssl-hellos.ts";
import { concat } from "../support/proxy-protocol-bytes.ts";
import { fuzzParams, mutated } from "../support/fuzz.ts";

// Runs per test (FUZZ_RUNS overrides): 3 × 10 000 random and mutated inputs and 2 × 5 000
// built hellos, about 5 s on Bun or Node, 10 s on Deno. `npm run fuzz` runs FUZZ_RUNS (10^6 unless
// given) per test: 5 × 10^5 in all at FUZZ_RUNS=100000, passed with FUZZ_SEED=216452555.
const RUNS = 10_000;

const label = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const alpnName = fc.stringMatching(/^[!-~]{1,10}$/);
const helloSpec = fc.record({
  sni: fc.option(dnsName, { nil: undefined }),
  alpn: fc.option(fc.array(alpnName, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  supported: fc.boolean(),
  version: fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303),
  other: fc.array(
    fc.tuple(fc.integer({ min: 1, max: 200 }).filter((t) => t !== 16 && t !== 43), fc.uint8Array({ maxLength: 12 })),
    { maxLength: 3 },
  ),
  recordSize: fc.integer({ min: 1, max: 400 }),
});
type Spec = typeof helloSpec extends fc.Arbitrary<infer T> ? T : never;

function build(s: Spec): Uint8Array {
  const exts = [...s.other.map(([t, d]) => extension(t, d))];
  if (s.sni !== undefined) exts.push(sniExtension(s.sni));
  if (s.alpn !== undefined) exts.push(alpnExtension(...s.alpn));
  if (s.supported) exts.push(supportedVersionsExtension(0x0304, 0x0303));
  return records(clientHelloMessage({ version: s.version, extensions: exts }), s.recordSize);
}

const NAMES: Record<number, string> = { 0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2" };

/** The bytes fed in chunks cut at `cuts`, to one parser, as reads would deliver them. */
function inChunks(bytes: Uint8Array, cuts: number[], limit: number): ClientHelloResult {
  const p = new ClientHelloParser(limit);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  for (const at of points) {
    const r = p.parse(bytes.subarray(0, at));
    if (r.kind !== "need-more") return r;
  }
  return p.parse(bytes);
}

describe("ssl_preread parser under fuzzing", () => {
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    mutated(helloSpec.map(build)),
    mutated(fc.constant(fromHex(OPENSSL_TLS13_SNI_ALPN_HEX))),
    fc.uint8Array({ maxLength: 60 }).map((b) => concat(Uint8Array.of(0x16, 0x03, 0x01, 0x00, b.length), b)),
  );

  for (const part of [0, 1, 2]) {
    test(`random and mutated inputs (part ${part + 1}/3): no exception, the same verdict however split, only \`limit\` bytes count`, () => {
      fc.assert(
        fc.property(input, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 5, max: 600 }), (bytes, cuts, limit) => {
          const whole = parseClientHello(bytes, limit);
          assert.deepEqual(inChunks(bytes, cuts, limit), whole);
          if (whole.kind === "buffer-full") assert.ok(bytes.length >= limit);
          if (bytes.length > limit) assert.deepEqual(parseClientHello(bytes.subarray(0, limit), limit), whole);
          if (whole.kind === "need-more" || whole.kind === "done") {
            assert.ok(whole.vars.serverName.length + whole.vars.alpnProtocols.length <= bytes.length);
          }
        }),
        fuzzParams(RUNS, part),
      );
    });
  }

  for (const part of [0, 1]) {
    test(`built hellos, in records of any size (part ${part + 1}/2), give back their SNI, ALPN and version`, () => {
      fc.assert(
        fc.property(helloSpec, fc.array(fc.nat(), { maxLength: 4 }), (s, cuts) => {
          const bytes = build(s);
          const expected = {
            kind: "done",
            vars: {
              serverName: s.sni ?? "",
              alpnProtocols: (s.alpn ?? []).join(","),
              protocol: s.supported ? "TLSv1.3" : NAMES[s.version]!,
            },
          };
          assert.deepEqual(inChunks(bytes, cuts, 16384), expected);
        }),
        fuzzParams(Math.ceil(RUNS * 0.5), 10 + part),
      );
    });
  }
});
