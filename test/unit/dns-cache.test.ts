// The name cache behind `proxy_pass $var` host names: one question for many sessions, kept for
// the TTL (or valid=), asked again after it; failures kept too, and worded as nginx logs them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResolverConfig } from "../../src/core/config/model.ts";
import { NameCache } from "../../src/core/dns/cache.ts";
import type { DnsExchange } from "../../src/core/dns/resolver.ts";
import { respond, type Zone } from "../support/dns-server.ts";

function setup(zone: Zone, validMs: number | null = null) {
  let now = 0;
  let asked = 0;
  const exchange: DnsExchange = (_s, query, o) => {
    asked++;
    const reply = respond(query, zone, o.tcp);
    return reply ? Promise.resolve(reply) : Promise.reject(new Error("no answer"));
  };
  const config: ResolverConfig = {
    addresses: ["127.0.0.1"],
    servers: [{ host: "127.0.0.1", port: 53 }],
    validMs,
    ipv4: true,
    ipv6: false,
    loc: { file: "t", line: 1, col: 0 },
  };
  const cache = new NameCache(config, 1000, exchange, () => now);
  return { cache, asked: () => asked, at: (ms: number) => void (now = ms) };
}

describe("NameCache", () => {
  test("sessions naming one host share one question until the TTL runs out", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.2"], ttl: 5 }]]);
    const s = setup(zone);
    const [a, b] = await Promise.all([s.cache.lookup("be.test"), s.cache.lookup("BE.test")]);
    assert.deepEqual(a, { kind: "ok", addresses: ["127.0.0.2"], ttlSec: 5 });
    assert.equal(b, a);
    assert.equal(s.asked(), 1);
    s.at(4999);
    await s.cache.lookup("be.test");
    assert.equal(s.asked(), 1);
    zone.set("be.test", { a: ["127.0.0.3"], ttl: 5 });
    s.at(5000);
    const c = await s.cache.lookup("be.test");
    assert.deepEqual(c.kind === "ok" && c.addresses, ["127.0.0.3"]);
    assert.equal(s.asked(), 2);
  });

  test("valid= overrides the TTL; a failure is kept as long", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.2"], ttl: 300 }]]);
    const s = setup(zone, 2000);
    await s.cache.lookup("be.test");
    await s.cache.lookup("gone.test");
    s.at(1999);
    assert.deepEqual(await s.cache.lookup("gone.test"), { kind: "failed", code: 3 });
    assert.equal(s.asked(), 2);
    s.at(2000);
    await s.cache.lookup("be.test");
    await s.cache.lookup("gone.test");
    assert.equal(s.asked(), 4);
  });
});
