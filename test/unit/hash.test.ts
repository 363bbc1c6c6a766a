import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HashPicker } from "../../src/core/balance/hash.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { HashKey, hashKeyError, KeyBuffer } from "../../src/core/balance/key.ts";
import { createPicker } from "../../src/core/balance/index.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { context, server, session, upstream } from "../support/peers.ts";

/** A second CRC-32, bit by bit and without a table, so the test does not trust the code under test. */
function refCrc32(text: string): number {
  let c = 0xffffffff;
  for (const b of new TextEncoder().encode(text)) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The index nginx's modulo hash lands on at rehash step `steps` (0 = the first try). */
function refIndex(key: string, weights: number[], steps = 0): number {
  let hash = 0;
  for (let n = 0; n <= steps; n++) hash += (refCrc32((n ? String(n) : "") + key) >>> 16) & 0x7fff;
  let w = hash % weights.reduce((a, b) => a + b, 0);
  let p = 0;
  while (w >= weights[p]!) w -= weights[p++]!;
  return p;
}

const keyOf = (text: string, ctx = context("10.1.2.3", 5555)) => {
  const buf = new KeyBuffer();
  HashKey.compile(text).evaluate(ctx, buf);
  return new TextDecoder().decode(buf.bytes.subarray(0, buf.length));
};

describe("hash key", () => {
  test("variables mixed with literal text", () => {
    assert.equal(keyOf("$remote_addr"), "10.1.2.3");
    assert.equal(keyOf("$remote_addr:$remote_port"), "10.1.2.3:5555");
    assert.equal(keyOf("${remote_addr}x"), "10.1.2.3x");
    assert.equal(keyOf("k-$server_addr-$server_port-"), "k-127.0.0.1-8000-");
    assert.equal(keyOf("plain"), "plain");
    assert.equal(keyOf("ü$1"), "ü");
  });

  test("IPv4-mapped IPv6 peers hash as their IPv4 address, as nginx (ipv6only) sees them", () => {
    assert.equal(keyOf("$remote_addr", context("::ffff:10.0.0.9", 1)), "10.0.0.9");
    assert.equal(keyOf("$remote_addr", context("::1", 1)), "::1");
  });

  test("nginx's compile errors", () => {
    assert.equal(hashKeyError("$remote_addr"), null);
    assert.match(hashKeyError("$")!, /invalid variable name/);
    assert.match(hashKeyError("${}")!, /invalid variable name/);
    assert.match(hashKeyError("${remote_addr")!, /the closing bracket in "remote_addr" variable is missing/);
    // Names are judged once the whole config is read (a later map may define them)...
    assert.equal(hashKeyError("$remote_addrx"), null);
    // ...and a key that names nothing known never runs.
    assert.throws(
      () => createPicker({ kind: "hash", key: "$remote_addrx", consistent: false }),
      /unknown "remote_addrx" variable/,
    );
    assert.throws(() => createPicker({ kind: "hash", key: "$nope", consistent: false }), /unknown "nope" variable/);
  });

  test("a long key grows the buffer", () => {
    const long = "x".repeat(1000);
    assert.equal(keyOf(`${long}$remote_addr`), `${long}10.1.2.3`);
  });
});

describe("hash (modulo)", () => {
  const method = { kind: "hash", key: "$remote_addr", consistent: false } as const;
  const weights = [1, 2, 1, 3];
  const servers = () => weights.map((weight, i) => server(`10.0.0.${i + 1}:80`, { weight }));

  test("createPicker wires it", () => {
    assert.ok(createPicker(method) instanceof HashPicker);
  });

  test("every address maps where an independent crc32 + nginx's walk says, every time", () => {
    const up = upstream(servers(), method);
    const picker = createPicker(method);
    for (let i = 0; i < 300; i++) {
      const addr = `127.${i >> 8}.${i & 255}.${(i * 7) & 255}`;
      const want = `10.0.0.${refIndex(addr, weights) + 1}:80`;
      assert.equal(session(up, picker, context(addr, 1000 + i)), want, addr);
      assert.equal(session(up, picker, context(addr, 2000 + i)), want, `${addr} again`);
    }
  });

  test("an unusable server rehashes with crc32(n ‖ key) added to the running hash", () => {
    const addr = "192.168.1.77";
    const first = refIndex(addr, weights, 0);
    const up = upstream(
      servers().map((s, i) => (i === first ? { ...s, down: true } : s)),
      method,
    );
    let steps = 1;
    while (refIndex(addr, weights, steps) === first) steps++;
    const want = `10.0.0.${refIndex(addr, weights, steps) + 1}:80`;
    assert.equal(session(up, createPicker(method), context(addr, 1)), want);
  });

  test("a retry in the same session continues the rehash sequence and skips the tried server", () => {
    const addr = "172.16.0.5";
    const up = upstream(servers(), method);
    const picker = createPicker(method);
    const sel = new PeerSelection(up, 0);
    const firstPeer = picker.pick(sel, context(addr, 1))!;
    assert.equal(firstPeer.index, refIndex(addr, weights, 0));
    sel.failed();
    let steps = 1;
    while (refIndex(addr, weights, steps) === firstPeer.index) steps++;
    assert.equal(picker.pick(sel, context(addr, 1))!.index, refIndex(addr, weights, steps));
  });

  test("20 misses fall back to round robin", () => {
    // Only one server is up: the hash may miss it 20 times, then round robin must still find it.
    const up = upstream(
      Array.from({ length: 40 }, (_, i) => server(`10.0.1.${i}:80`, { down: i !== 39 })),
      method,
    );
    const picker = createPicker(method);
    for (let i = 0; i < 50; i++) assert.equal(session(up, picker, context(`127.0.0.${i}`, 1)), "10.0.1.39:80");
  });

  test("an empty key or a lone server is round robin", () => {
    const empty = { kind: "hash", key: "$1", consistent: false } as const;
    const up = upstream([server("a:1"), server("b:1")], empty);
    const picker = createPicker(empty);
    assert.deepEqual([session(up, picker), session(up, picker), session(up, picker)], ["a:1", "b:1", "a:1"]);
    assert.equal(session(upstream([server("a:1")], method), createPicker(method)), "a:1");
  });
});

describe("hash key in a YAML config", () => {
  test("a bad key fails the load, saying where", () => {
    const yaml = [
      "stream:",
      "  upstreams:",
      "    u:",
      "      hash: { key: $remote_adr, consistent: true }",
      '      servers: ["127.0.0.1:1", "127.0.0.1:2"]',
      "  servers:",
      "    - { listen: 8000, proxy_pass: u }",
      "",
    ].join("\n");
    assert.throws(() => parseConfig(yaml, "t.yaml"), /unknown "remote_adr" variable.* in t\.yaml:3:/);
    const ok = parseConfig(yaml.replace("$remote_adr", "$remote_addr"), "t.yaml");
    assert.deepEqual(ok.stream.upstreams.get("u")!.method, { kind: "hash", key: "$remote_addr", consistent: true });
  });
});
