// Resolver-driven membership with an injected clock and the test DNS server's answers (no
// sockets): servers follow the answers at TTL + 1 s, peers that stay keep their state, vanished
// ones finish their sessions, NXDOMAIN empties the line, SERVFAIL keeps the last good answer,
// SRV records become servers with their ports, weights and priorities.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { createPicker } from "../../src/core/balance/index.ts";
import type { Config } from "../../src/core/config/model.ts";
import { RCODE } from "../../src/core/dns/message.ts";
import type { DnsExchange } from "../../src/core/dns/resolver.ts";
import { Discovery, type DiscoveryTimers } from "../../src/core/discovery.ts";
import type { Logger } from "../../src/core/log.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { respond, type Zone } from "../support/dns-server.ts";

class FakeTimers implements DiscoveryTimers {
  t = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  set(ms: number, fn: () => void): unknown {
    const id = ++this.ids;
    this.queue.push({ at: this.t + ms, fn, id });
    return id;
  }
  clear(h: unknown): void {
    this.queue = this.queue.filter((e) => e.id !== h);
  }
  /** When the next lookup is due (ms from the start), for the schedule's checks. */
  next(): number | null {
    return this.queue.length ? Math.min(...this.queue.map((e) => e.at)) : null;
  }
  /** Runs every timer due by `until`, letting each lookup's promises settle. */
  async advance(until: number): Promise<void> {
    for (;;) {
      const due = this.queue.filter((e) => e.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.queue = this.queue.filter((e) => e !== due);
      this.t = due.at;
      due.fn();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
    this.t = until;
  }
}

function setup(yaml: string, zone: Zone) {
  const config: Config = loadYamlConfig(yaml, "/t.yaml");
  const upstreams = new Map([...config.stream.upstreams].map(([n, c]) => [n, new Upstream(c)]));
  const timers = new FakeTimers();
  const logs: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => logs.push(`[${level}] ${m}`) };
  const asked: string[] = [];
  const exchange: DnsExchange = (_server, query, o) => {
    const reply = respond(query, zone, o.tcp);
    asked.push(String(timers.now()));
    return reply ? Promise.resolve(reply) : Promise.reject(new Error("no answer"));
  };
  let changes = 0;
  const discovery = new Discovery(exchange, logger, () => changes++, timers);
  discovery.apply(upstreams, config);
  const u = upstreams.get("u")!;
  const addresses = () => [...u.allPeers()].map((p) => `${p.address}${p.config.backup ? " backup" : ""} w${p.weight}`);
  return { u, timers, logs, discovery, addresses, changes: () => changes, config, upstreams };
}

const A_YAML = `stream:
  resolver: { addresses: ["127.0.0.1:53"], ipv6: false }
  resolver_timeout: 5s
  upstreams:
    u:
      zone: { name: z, size: 64k }
      servers:
        - { address: "be.test:8080", resolve: true, max_fails: 0 }
        - "127.0.0.1:7"
  servers: [{ listen: 1, proxy_pass: u }]
`;

describe("Discovery", () => {
  test("a resolve line stands for no server until the first answer, 1 ms after start", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.201"], ttl: 5 }]]);
    const s = setup(A_YAML, zone);
    assert.deepEqual(s.addresses(), ["127.0.0.1:7 w1"]);
    assert.equal(s.timers.next(), 1);
    await s.timers.advance(1);
    assert.deepEqual(s.addresses(), ["127.0.0.201:8080 w1", "127.0.0.1:7 w1"]);
    assert.equal(s.timers.next(), 1 + 5000 + 1000, "the next lookup at TTL + 1 s");
    s.discovery.stop();
  });

  test("answers that change move the servers; a peer that stays keeps its state, a vanished one finishes its session", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.201"], ttl: 1 }]]);
    const s = setup(A_YAML, zone);
    await s.timers.advance(1);
    const first = [...s.u.allPeers()].find((p) => p.address === "127.0.0.201:8080")!;
    // A session on the first address, under way while the name moves.
    const sel = new PeerSelection(s.u, 0);
    sel.take(first, s.u.primary);
    first.fails = 1;
    zone.set("be.test", { a: ["127.0.0.201", "127.0.0.202"], ttl: 1 });
    await s.timers.advance(2001);
    assert.deepEqual(s.addresses(), ["127.0.0.201:8080 w1", "127.0.0.202:8080 w1", "127.0.0.1:7 w1"]);
    const kept = [...s.u.allPeers()].find((p) => p.address === "127.0.0.201:8080")!;
    assert.equal(kept, first, "the same peer, with its connection count and failures");
    assert.equal(kept.conns, 1);
    assert.equal(kept.fails, 1);
    zone.set("be.test", { a: ["127.0.0.202"], ttl: 1 });
    await s.timers.advance(4001);
    assert.deepEqual(s.addresses(), ["127.0.0.202:8080 w1", "127.0.0.1:7 w1"]);
    // No new session can pick the vanished peer; the one under way ends normally.
    const picker = createPicker(s.config.stream.upstreams.get("u")!.method);
    for (let i = 0; i < 4; i++) {
      const next = new PeerSelection(s.u, 0);
      const p = picker.pick(next, { remoteAddress: "127.0.0.1", remotePort: 1, serverAddress: "127.0.0.1", serverPort: 1 });
      assert.notEqual(p, first);
      next.release();
    }
    sel.release();
    assert.equal(first.conns, 0);
    assert.equal(s.changes(), 3);
    s.discovery.stop();
  });

  test("SERVFAIL keeps the last good answer and logs as nginx; NXDOMAIN removes the servers", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.201"], ttl: 1 }]]);
    const s = setup(A_YAML, zone);
    await s.timers.advance(1);
    zone.set("be.test", { rcode: RCODE.SERVFAIL });
    await s.timers.advance(2001);
    assert.deepEqual(s.addresses(), ["127.0.0.201:8080 w1", "127.0.0.1:7 w1"]);
    assert.deepEqual(s.logs, ["[error] be.test could not be resolved (2: Server failure)"]);
    assert.equal(s.timers.next(), 2001 + 5000, "after a failure, again in max(resolver_timeout, 1 s)");
    zone.delete("be.test");
    await s.timers.advance(7001);
    assert.deepEqual(s.addresses(), ["127.0.0.1:7 w1"]);
    assert.equal(s.logs[1], "[error] be.test could not be resolved (3: Host not found)");
    assert.equal(s.timers.next(), 7001 + 10_000 + 1000, "a negative answer is kept 10 s, + 1 s");
    zone.set("be.test", { a: ["127.0.0.203"] });
    await s.timers.advance(18_001);
    assert.deepEqual(s.addresses(), ["127.0.0.203:8080 w1", "127.0.0.1:7 w1"]);
    s.discovery.stop();
  });

  test("valid= overrides the TTL; a reload keeps the answer of a line that stays and drops a line that goes", async () => {
    const zone: Zone = new Map([["be.test", { a: ["127.0.0.201"], ttl: 300 }]]);
    const s = setup(A_YAML.replace("ipv6: false", "ipv6: false, valid: 2s"), zone);
    await s.timers.advance(1);
    assert.equal(s.timers.next(), 1 + 2000 + 1000);
    // A reload that moves the line to another port keeps the answer on the new port (nginx
    // matches the old answers by name and service).
    const moved = loadYamlConfig(
      A_YAML.replace("ipv6: false", "ipv6: false, valid: 2s").replace("be.test:8080", "be.test:8082"),
      "/t.yaml",
    );
    s.u.update(moved.stream.upstreams.get("u")!);
    s.discovery.apply(s.upstreams, moved);
    assert.deepEqual(s.addresses(), ["127.0.0.201:8082 w1", "127.0.0.1:7 w1"]);
    // The same config again: the answer stays without a new lookup.
    s.u.update(s.config.stream.upstreams.get("u")!);
    s.discovery.apply(s.upstreams, s.config);
    assert.deepEqual(s.addresses(), ["127.0.0.201:8080 w1", "127.0.0.1:7 w1"]);
    const without = loadYamlConfig(
      A_YAML.replace(`        - { address: "be.test:8080", resolve: true, max_fails: 0 }\n`, ""),
      "/t.yaml",
    );
    s.u.update(without.stream.upstreams.get("u")!);
    s.discovery.apply(s.upstreams, without);
    assert.deepEqual(s.addresses(), ["127.0.0.1:7 w1"]);
    assert.equal(s.timers.next(), null, "no lookups for a line that left");
  });

  test("SRV: ports and weights from the records, a line's own weight wins, other priorities are backups", async () => {
    const yaml = `stream:
  resolver: { addresses: ["127.0.0.1"], ipv6: false }
  upstreams:
    u:
      zone: z1 
      servers:
        - { address: be.test, resolve: true, service: http }
        - { address: be.test, resolve: true, service: _db._tcp, weight: 7 }
    z:
      zone: { name: z1, size: 64k }
      servers: ["127.0.0.1:9"]
  servers: [{ listen: 1, proxy_pass: u }, { listen: 2, proxy_pass: z }]
`;
    const zone: Zone = new Map([
      ["_http._tcp.be.test", {
        srv: [{ priority: 1, weight: 5, port: 8080, target: "a.be.test" }, {
          priority: 1,
          weight: 0,
          port: 8081,
          target: "a.be.test",
        }, { priority: 2, weight: 3, port: 8082, target: "b.be.test" }],
      }],
      ["_db._tcp.be.test", { srv: [{ priority: 0, weight: 2, port: 5432, target: "b.be.test" }] }],
      ["a.be.test", { a: ["127.0.0.1"] }],
      ["b.be.test", { a: ["127.0.0.2"] }],
    ]);
    const s = setup(yaml, zone);
    await s.timers.advance(1);
    assert.deepEqual(s.addresses(), ["127.0.0.1:8080 w5", "127.0.0.1:8081 w1", "127.0.0.2:5432 w7", "127.0.0.2:8082 backup w3"]);
    zone.set("_http._tcp.be.test", { rcode: RCODE.SERVFAIL });
    await s.timers.advance(2001);
    assert.ok(
      s.logs.includes("[error] service _http._tcp of be.test could not be resolved (2: Server failure)"),
      s.logs.join("\n"),
    );
    s.discovery.stop();
  });
});
