import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { roundRobin } from "../../src/core/balance/round-robin.ts";
import type { PickContext } from "../../src/core/balance/types.ts";
import { type UpstreamConfig, type UpstreamServerConfig } from "../../src/core/config/model.ts";
import { DEFAULT_SERVER } from "../../src/core/config/schema/upstream-server.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";

const loc = { file: "test", line: 1, col: 1 };
const ctx: PickContext = { remoteAddress: "127.0.0.1", remotePort: 1, serverAddress: "127.0.0.1", serverPort: 2 };

function server(address: string, extra: Partial<UpstreamServerConfig> = {}): UpstreamServerConfig {
  const [host, port] = address.split(":");
  return { ...DEFAULT_SERVER, address, host: host!, port: Number(port), loc, ...extra };
}

function upstream(servers: UpstreamServerConfig[], clock: () => number = () => 1000): Upstream {
  const config: UpstreamConfig = { name: "u", method: { kind: "round_robin" }, servers, implicit: false, healthCheck: null, loc };
  return new Upstream(config, clock);
}

/** One whole session that connects at once: pick, connected, release. */
function session(up: Upstream): string | null {
  const sel = new PeerSelection(up, 0);
  const peer = roundRobin.pick(sel, ctx);
  if (!peer) return null;
  sel.connected();
  sel.release();
  return peer.address;
}

const names = (up: Upstream, n: number) => Array.from({ length: n }, () => session(up));

describe("smooth weighted round robin", () => {
  test("weights 5,1,1 give nginx's a a b a c a a", () => {
    const up = upstream([server("a:1", { weight: 5 }), server("b:1"), server("c:1")]);
    assert.deepEqual(names(up, 14), [
      ..."a a b a c a a".split(" ").map((n) => `${n}:1`),
      ..."a a b a c a a".split(" ").map((n) => `${n}:1`),
    ]);
  });

  test("weights 1 and 2 split 300 picks 100/200", () => {
    const up = upstream([server("a:1", { weight: 1 }), server("b:1", { weight: 2 })]);
    const picks = names(up, 300);
    assert.equal(picks.filter((p) => p === "a:1").length, 100);
    assert.equal(picks.filter((p) => p === "b:1").length, 200);
  });

  test("equal weights alternate", () => {
    const up = upstream([server("a:1"), server("b:1")]);
    assert.deepEqual(names(up, 4), ["a:1", "b:1", "a:1", "b:1"]);
  });

  test("down servers get nothing", () => {
    const up = upstream([server("a:1", { down: true }), server("b:1")]);
    assert.deepEqual(names(up, 3), ["b:1", "b:1", "b:1"]);
  });

  test("a session never tries the same peer twice", () => {
    const up = upstream([server("a:1"), server("b:1")]);
    const sel = new PeerSelection(up, 0);
    const first = roundRobin.pick(sel, ctx)!;
    sel.failed();
    const second = roundRobin.pick(sel, ctx)!;
    assert.notEqual(first.address, second.address);
    sel.failed();
    assert.equal(sel.tries, 0);
  });

  test("max_conns caps a peer's live connections", () => {
    const up = upstream([server("a:1", { maxConns: 1 }), server("b:1")]);
    const holds: PeerSelection[] = [];
    const picks: string[] = [];
    for (let i = 0; i < 20; i++) {
      const sel = new PeerSelection(up, 0);
      picks.push(roundRobin.pick(sel, ctx)!.address);
      holds.push(sel); // never released: connections stay live
    }
    assert.equal(picks.filter((p) => p === "a:1").length, 1);
  });
});

describe("passive health (max_fails / fail_timeout)", () => {
  test("a failure lowers effective_weight by weight/max_fails and it recovers by one per pick", () => {
    let now = 1000;
    const up = upstream([server("a:1", { weight: 4, maxFails: 2 }), server("b:1", { weight: 4, maxFails: 2 })], () => now);
    const sel = new PeerSelection(up, 0);
    const a = roundRobin.pick(sel, ctx)!;
    assert.equal(a.address, "a:1");
    sel.failed();
    assert.equal(a.effectiveWeight, 2);
    assert.equal(a.fails, 1);
    now++;
    session(up);
    assert.equal(a.effectiveWeight, 3);
  });

  test("max_fails failures within fail_timeout take a peer out for fail_timeout, then one probe", () => {
    let now = 1000;
    const up = upstream(
      [server("a:1", { maxFails: 2, failTimeoutMs: 10_000 }), server("b:1", { maxFails: 2, failTimeoutMs: 10_000 })],
      () => now,
    );
    const a = up.primary.peers[0]!;
    const failA = () => {
      const sel = new PeerSelection(up, 0);
      for (;;) {
        const p = roundRobin.pick(sel, ctx)!;
        if (p === a) return sel.failed();
        sel.connected();
        sel.release();
      }
    };
    assert.equal(failA(), false, "first failure does not disable");
    now += 5;
    assert.equal(failA(), true, "second failure within fail_timeout disables");
    // Out for fail_timeout after the last failure: only b is picked.
    now += 10;
    assert.deepEqual(names(up, 4), ["b:1", "b:1", "b:1", "b:1"]);
    // After fail_timeout a is picked again; a successful connect revives it.
    now += 1;
    const picks = names(up, 4);
    assert.ok(picks.includes("a:1"));
    assert.equal(a.fails, 0);
  });

  test("a success inside the window does not reset the failure count", () => {
    let now = 1000;
    const up = upstream([server("a:1", { maxFails: 3 }), server("b:1", { maxFails: 3 })], () => now);
    const a = up.primary.peers[0]!;
    const sel = new PeerSelection(up, 0);
    assert.equal(roundRobin.pick(sel, ctx), a);
    sel.failed();
    now += 1;
    // a succeeds while its failure is still within fail_timeout: fails stays 1.
    for (let i = 0; i < 4; i++) session(up);
    assert.equal(a.fails, 1);
  });

  test("a lone server is never marked down", () => {
    const up = upstream([server("a:1", { maxFails: 1 })]);
    for (let i = 0; i < 5; i++) {
      const sel = new PeerSelection(up, 0);
      assert.equal(roundRobin.pick(sel, ctx)?.address, "a:1");
      sel.failed();
      assert.equal(sel.tries, 0, "a single server gets one try");
    }
    assert.equal(up.primary.peers[0]!.fails, 0);
  });

  test("backups serve only when every primary is out", () => {
    const up = upstream([server("a:1"), server("b:1"), server("z:1", { backup: true })]);
    assert.equal(up.tries, 3);
    assert.deepEqual(names(up, 2), ["a:1", "b:1"]);
    // One session whose connects to both primaries fail moves on to the backup.
    const sel = new PeerSelection(up, 0);
    const tried: string[] = [];
    for (let p = roundRobin.pick(sel, ctx); p; p = roundRobin.pick(sel, ctx)) {
      tried.push(p.address);
      if (p.address === "z:1") break;
      sel.failed();
    }
    assert.deepEqual(tried, ["a:1", "b:1", "z:1"]);
    sel.connected();
    sel.release();
    // Both primaries are out for fail_timeout: new sessions go to the backup.
    assert.deepEqual(names(up, 3), ["z:1", "z:1", "z:1"]);
  });

  test("when nothing is usable nginx answers no live upstreams and marks every peer live", () => {
    const up = upstream([server("a:1"), server("b:1")]);
    const sel = new PeerSelection(up, 0);
    roundRobin.pick(sel, ctx);
    sel.failed();
    roundRobin.pick(sel, ctx);
    sel.failed();
    assert.ok(up.primary.peers.every((p) => p.fails === 1));
    assert.equal(names(up, 1)[0], null);
    assert.ok(up.primary.peers.every((p) => p.fails === 0), "all-failed resets fails for quick recovery");
    assert.notEqual(names(up, 1)[0], null);
  });

  test("proxy_next_upstream_tries caps the tries", () => {
    const up = upstream([server("a:1"), server("b:1"), server("c:1")]);
    assert.equal(new PeerSelection(up, 2).tries, 2);
    assert.equal(new PeerSelection(up, 0).tries, 3);
    assert.equal(new PeerSelection(up, 10).tries, 3);
  });
});
