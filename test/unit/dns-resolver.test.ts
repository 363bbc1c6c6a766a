// The stub resolver against the test DNS server's answers, without sockets: the exchange is
// a function over `respond`, the clock a number the test moves.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DNS_TYPE, encodeQuery, RCODE } from "../../src/core/dns/message.ts";
import { answerFor, DNS_TIMED_OUT, dnsErrorText, type DnsExchange, DnsResolver, isReplyTo } from "../../src/core/dns/resolver.ts";
import type { ConnectTarget, DnsExchangeOptions } from "../../src/core/runtime.ts";
import { respond, type Zone } from "../support/dns-server.ts";

interface Sent {
  server: string;
  tcp: boolean;
  timeoutMs: number;
}

function harness(zone: Zone, down: ReadonlySet<string> = new Set()) {
  let now = 0;
  const sent: Sent[] = [];
  const exchange: DnsExchange = (server: ConnectTarget, query: Uint8Array, o: DnsExchangeOptions) => {
    sent.push({ server: `${server.host}:${server.port}`, tcp: o.tcp, timeoutMs: o.timeoutMs });
    if (down.has(server.host)) {
      now += o.timeoutMs; // the whole attempt passes without an answer
      return Promise.reject(new Error("timed out"));
    }
    const reply = respond(query, zone, o.tcp);
    if (!reply || !o.accept(reply)) return Promise.reject(new Error("no answer"));
    return Promise.resolve(reply);
  };
  return { sent, exchange, now: () => now };
}

const SERVERS = [{ host: "127.0.0.1", port: 53 }];

function resolver(
  h: ReturnType<typeof harness>,
  o: { ipv4?: boolean; ipv6?: boolean; servers?: ConnectTarget[]; timeoutMs?: number } = {},
) {
  return new DnsResolver(
    { servers: o.servers ?? SERVERS, ipv4: o.ipv4 ?? true, ipv6: o.ipv6 ?? true, timeoutMs: o.timeoutMs ?? 30_000 },
    h.exchange,
    h.now,
  );
}

describe("DnsResolver", () => {
  test("A and AAAA both asked; addresses in answer order with the smallest TTL", async () => {
    const h = harness(new Map([["be.test", { a: ["127.0.0.2", "127.0.0.3"], aaaa: ["::1"], ttl: 7 }]]));
    assert.deepEqual(await resolver(h).addresses("be.test"), {
      kind: "ok",
      addresses: ["127.0.0.2", "127.0.0.3", "::1"],
      ttlSec: 7,
    });
    assert.equal(h.sent.length, 2);
  });

  test("ipv6=off asks A only, ipv4=off AAAA only", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.2"], aaaa: ["::1"] }]]);
    const v4 = await resolver(harness(zone), { ipv6: false }).addresses("be.test");
    const v6 = await resolver(harness(zone), { ipv4: false }).addresses("be.test");
    assert.deepEqual(v4.kind === "ok" && v4.addresses, ["127.0.0.2"]);
    assert.deepEqual(v6.kind === "ok" && v6.addresses, ["::1"]);
  });

  test("a CNAME without the records is asked again at its target; a loop ends as not found", async () => {
    const h = harness(new Map([["be.test", { cname: "alias.be.test" }], ["alias.be.test", { a: ["127.0.0.203"], ttl: 4 }]]));
    const r = await resolver(h, { ipv6: false }).addresses("be.test");
    assert.deepEqual(r, { kind: "ok", addresses: ["127.0.0.203"], ttlSec: 1 });
    const loop = harness(new Map([["a.test", { cname: "b.test" }], ["b.test", { cname: "a.test" }]]));
    assert.deepEqual(await resolver(loop, { ipv6: false }).addresses("a.test"), { kind: "failed", code: RCODE.NXDOMAIN });
    assert.ok(loop.sent.length <= 9, "the chain is cut after 8 CNAMEs");
  });

  test("answerFor follows a CNAME chain inside one answer", () => {
    const rec = (name: string, data: { kind: "cname"; target: string } | { kind: "a"; address: string }, ttl: number) => ({
      name,
      type: data.kind === "a" ? DNS_TYPE.A : DNS_TYPE.CNAME,
      klass: 1,
      ttl,
      data,
    });
    const got = answerFor(
      [rec("x.test", { kind: "cname", target: "y.test" }, 5), rec("y.test", { kind: "a", address: "10.0.0.1" }, 9)],
      "X.test.",
      DNS_TYPE.A,
    );
    assert.deepEqual(got.records.map((r) => r.data), [{ kind: "a", address: "10.0.0.1" }]);
    assert.equal(got.ttlSec, 5);
  });

  test("NXDOMAIN, an empty NOERROR answer and SERVFAIL are failures with their code and nginx's words", async () => {
    const zone: Zone = new Map([["empty.test", {}], ["bad.test", { rcode: RCODE.SERVFAIL }]]);
    assert.deepEqual(await resolver(harness(zone)).addresses("none.test"), { kind: "failed", code: 3 });
    assert.deepEqual(await resolver(harness(zone)).addresses("empty.test"), { kind: "failed", code: 3 });
    assert.deepEqual(await resolver(harness(zone)).addresses("bad.test"), { kind: "failed", code: 2 });
    assert.equal(dnsErrorText(3), "Host not found");
    assert.equal(dnsErrorText(2), "Server failure");
    assert.equal(dnsErrorText(DNS_TIMED_OUT), "Operation timed out");
  });

  test("a truncated UDP answer is asked again over TCP", async () => {
    const h = harness(new Map([["big.test", { a: ["127.0.0.9"], truncate: true }]]));
    const r = await resolver(h, { ipv6: false }).addresses("big.test");
    assert.deepEqual(r.kind === "ok" && r.addresses, ["127.0.0.9"]);
    assert.deepEqual(h.sent.map((s) => s.tcp), [false, true]);
  });

  test("a silent server gives way to the next within resolver_timeout; all silent is a timeout", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.2"] }]]);
    const servers = [{ host: "127.0.0.7", port: 53 }, { host: "127.0.0.1", port: 53 }];
    const h = harness(zone, new Set(["127.0.0.7"]));
    const r = await resolver(h, { ipv6: false, servers, timeoutMs: 4000 }).addresses("be.test");
    assert.deepEqual(r.kind === "ok" && r.addresses, ["127.0.0.2"]);
    assert.deepEqual(h.sent.map((s) => [s.server, s.timeoutMs]), [["127.0.0.7:53", 2000], ["127.0.0.1:53", 2000]]);
    const dead = harness(zone, new Set(["127.0.0.7"]));
    const t = await resolver(dead, { ipv6: false, servers: [servers[0]!], timeoutMs: 3000 }).addresses("be.test");
    assert.deepEqual(t, { kind: "failed", code: DNS_TIMED_OUT });
    assert.equal(dead.now(), 3000, "no lookup outlives resolver_timeout");
  });

  test("SRV: each record with its target's addresses, port, weight and priority", async () => {
    const h = harness(
      new Map([
        ["_http._tcp.be.test", {
          srv: [{ priority: 1, weight: 5, port: 8080, target: "a.be.test" }, {
            priority: 2,
            weight: 1,
            port: 8081,
            target: "b.be.test",
          }, { priority: 1, weight: 1, port: 1, target: "gone.be.test" }],
          ttl: 9,
        }],
        ["a.be.test", { a: ["127.0.0.1"], ttl: 3 }],
        ["b.be.test", { a: ["127.0.0.2"] }],
      ]),
    );
    assert.deepEqual(await resolver(h, { ipv6: false }).service("_http._tcp.be.test"), {
      kind: "ok",
      records: [
        { priority: 1, weight: 5, port: 8080, target: "a.be.test", addresses: ["127.0.0.1"] },
        { priority: 2, weight: 1, port: 8081, target: "b.be.test", addresses: ["127.0.0.2"] },
      ],
      ttlSec: 1,
      unresolved: [{ target: "gone.be.test", code: 3 }],
    });
  });

  test("a reply to another question (other id, other name) is not taken as the answer", () => {
    const q = encodeQuery(5, "be.test", DNS_TYPE.A)!;
    const reply = respond(q, new Map([["be.test", { a: ["10.0.0.1"] }]]), false)!;
    assert.equal(isReplyTo(reply, 5, "be.test", DNS_TYPE.A), true);
    assert.equal(isReplyTo(reply, 6, "be.test", DNS_TYPE.A), false);
    assert.equal(isReplyTo(reply, 5, "other.test", DNS_TYPE.A), false);
    assert.equal(isReplyTo(reply, 5, "be.test", DNS_TYPE.AAAA), false);
  });
});
