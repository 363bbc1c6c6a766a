import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findPoint, KetamaPicker, ringOf, serverPoints, splitServer } from "../../src/core/balance/ketama.ts";
import { createPicker } from "../../src/core/balance/index.ts";
import type { UpstreamServerConfig } from "../../src/core/config/model.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { context, server, session, upstream } from "../support/peers.ts";

/** A second CRC-32, bit by bit and without a table, over explicit byte arrays. */
function refCrc32(bytes: ArrayLike<number>): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

/** Points built the way Cache::Memcached::Fast documents: crc32(HOST \0 PORT PREV_HASH_LE). */
function refPoints(host: string, port: string, count: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let j = 0; j < count; j++) {
    const le = [prev & 0xff, (prev >>> 8) & 0xff, (prev >>> 16) & 0xff, prev >>> 24];
    prev = refCrc32([...utf8(host), 0, ...utf8(port), ...le]);
    out.push(prev);
  }
  return out;
}

/** The whole ring and lookup, modelled independently: sorted, duplicates dropped, first >= h, wrap. */
function refRing(servers: UpstreamServerConfig[]): { hash: number; server: string }[] {
  const all: { hash: number; server: string }[] = [];
  for (const s of servers) {
    const colon = s.address.lastIndexOf(":");
    for (const hash of refPoints(s.address.slice(0, colon), s.address.slice(colon + 1), 160 * s.weight)) {
      all.push({ hash, server: s.address });
    }
  }
  all.sort((a, b) => a.hash - b.hash);
  return all.filter((p, i) => i === 0 || all[i - 1]!.hash !== p.hash);
}

function refLookup(ring: { hash: number; server: string }[], key: string, usable = (_: string) => true): string {
  const h = refCrc32(utf8(key));
  let i = ring.findIndex((p) => p.hash >= h);
  if (i < 0) i = 0;
  for (let n = 0; n < ring.length; n++) {
    const p = ring[(i + n) % ring.length]!;
    if (usable(p.server)) return p.server;
  }
  throw new Error("nothing usable");
}

const method = { kind: "hash", key: "$remote_addr", consistent: true } as const;

describe("ketama (hash ... consistent)", () => {
  test("createPicker wires it", () => {
    assert.ok(createPicker(method) instanceof KetamaPicker);
  });

  test("host and port split from the server text as nginx does", () => {
    assert.deepEqual(splitServer("127.0.0.1:6000"), { host: "127.0.0.1", port: "6000" });
    assert.deepEqual(splitServer("[::1]:6000"), { host: "[::1]", port: "6000" });
    assert.deepEqual(splitServer("backend.example.com:80"), { host: "backend.example.com", port: "80" });
    assert.deepEqual(splitServer("unix:/run/app.sock"), { host: "/run/app.sock", port: "" });
    assert.deepEqual(splitServer("UNIX:/x"), { host: "/x", port: "" });
    assert.deepEqual(splitServer("example.com"), { host: "example.com", port: "" });
    assert.deepEqual(splitServer("a:b"), { host: "a:b", port: "" });
    assert.deepEqual(splitServer("host:"), { host: "host", port: "" });
  });

  test("points of 127.0.0.1:6000 match zlib-computed values and an independent crc32", () => {
    const points = serverPoints("127.0.0.1:6000", 1);
    assert.equal(points.length, 160);
    // crc32(b"127.0.0.1\0" b"6000" + prev.to_bytes(4, "little")) chained, computed with Python's zlib.
    assert.deepEqual([...points.subarray(0, 3)], [0x94130518, 0x91f8ae4c, 0xcd5a5a90]);
    assert.deepEqual([...points], refPoints("127.0.0.1", "6000", 160));
    assert.deepEqual([...serverPoints("[::1]:80", 2)], refPoints("[::1]", "80", 320));
  });

  test("the ring is sorted, de-duplicated, 160 points per weight unit, built once per upstream", () => {
    const servers = [server("10.0.0.1:80", { weight: 2 }), server("10.0.0.2:80"), server("10.0.0.3:80", { weight: 3 })];
    const up = upstream(servers, method);
    const ring = ringOf(up.primary);
    assert.equal(ringOf(up.primary), ring);
    assert.deepEqual([...ring.hashes], refRing(servers).map((p) => p.hash));
    assert.ok(ring.hashes.length <= 160 * 6 && ring.hashes.length > 160 * 6 - 3);
    for (let i = 1; i < ring.hashes.length; i++) assert.ok(ring.hashes[i - 1]! < ring.hashes[i]!);
  });

  test("the same server written twice shares its points (duplicates dropped)", () => {
    const up = upstream([server("10.0.0.1:80"), server("10.0.0.1:80"), server("10.0.0.2:80")], method);
    assert.equal(ringOf(up.primary).hashes.length, 320);
  });

  test("findPoint: first point >= hash, or the end (which wraps to 0)", () => {
    const hashes = Uint32Array.of(10, 20, 30);
    assert.deepEqual([0, 10, 11, 20, 30, 31, 0xffffffff].map((h) => findPoint(hashes, h)), [0, 0, 1, 1, 2, 3, 3]);
  });

  test("200+ client addresses land where the independent ring says", () => {
    const servers = [server("127.0.0.1:7001"), server("127.0.0.1:7002", { weight: 2 }), server("127.0.0.1:7003")];
    const ring = refRing(servers);
    const up = upstream(servers, method);
    const picker = createPicker(method);
    for (let i = 0; i < 256; i++) {
      const addr = `127.1.${i}.${(i * 13) & 255}`;
      assert.equal(session(up, picker, context(addr, 1)), refLookup(ring, addr), addr);
    }
  });

  test("an unusable server passes its keys on to the next point's server", () => {
    const servers = [server("127.0.0.1:7001"), server("127.0.0.1:7002", { down: true }), server("127.0.0.1:7003")];
    const ring = refRing(servers);
    const up = upstream(servers, method);
    const picker = createPicker(method);
    for (let i = 0; i < 200; i++) {
      const addr = `10.9.${i}.1`;
      assert.equal(session(up, picker, context(addr, 1)), refLookup(ring, addr, (s) => s !== "127.0.0.1:7002"), addr);
    }
  });

  test("removing a server moves only the keys it owned", () => {
    const three = [server("10.0.0.1:80"), server("10.0.0.2:80"), server("10.0.0.3:80")];
    const before = upstream(three, method);
    const after = upstream(three.slice(0, 2), method);
    const picker = createPicker(method);
    let moved = 0;
    for (let i = 0; i < 300; i++) {
      const ctx = context(`192.168.${i & 255}.${i >> 8}`, 1);
      const a = session(before, picker, ctx);
      const b = session(after, picker, ctx);
      if (a !== "10.0.0.3:80") assert.equal(b, a);
      else moved++;
    }
    assert.ok(moved > 30, `some keys belonged to the removed server (${moved})`);
  });

  test("a retry in the session walks on along the ring, never back to a tried server", () => {
    const servers = [server("127.0.0.1:7001"), server("127.0.0.1:7002"), server("127.0.0.1:7003")];
    const up = upstream(servers, method);
    const picker = createPicker(method);
    const sel = new PeerSelection(up, 0);
    const ctx = context("10.20.30.40", 1);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const peer = picker.pick(sel, ctx)!;
      assert.ok(!seen.has(peer.address));
      seen.add(peer.address);
      sel.failed();
    }
    assert.equal(seen.size, 3);
  });

  test("everything down: null, and a lone server is round robin", () => {
    const up = upstream([server("a:1", { down: true }), server("b:1", { down: true })], method);
    assert.equal(session(up, createPicker(method)), null);
    assert.equal(session(upstream([server("a:1")], method), createPicker(method)), "a:1");
  });
});
