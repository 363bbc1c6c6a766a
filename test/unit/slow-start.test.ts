// NGINX Plus's slow_start: a server that comes back ramps its weight up from 1.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leastConn } from "../../src/core/balance/least-conn.ts";
import { roundRobin } from "../../src/core/balance/round-robin.ts";
import { ConfigError } from "../../src/core/config/errors.ts";
import { parseConfig } from "../../src/core/config/load.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { context, server, session, upstream } from "../support/peers.ts";

describe("slow_start", () => {
  /** a (weight 10, slow_start 10s) is taken out by a failure, then its probe connects. */
  function recovering(picker = roundRobin) {
    let now = 1000;
    const up = upstream(
      [server("a:1", { weight: 10, slowStartMs: 10_000, failTimeoutMs: 2_000 }), server("b:1", { weight: 10 })],
      { kind: picker === roundRobin ? "round_robin" : "least_conn" },
      () => now,
    );
    const a = up.primary.peers[0]!;
    const sel = new PeerSelection(up, 0);
    assert.equal(picker.pick(sel, context()), a);
    sel.failed();
    now += 3; // past fail_timeout: the next pick of a is the probe
    for (let i = 0; i < 50 && a.fails > 0; i++) session(up, picker);
    assert.equal(a.fails, 0, "the probe connected");
    const share = (seconds: number) => {
      const picks: string[] = [];
      for (let i = 0; i < 200; i++) picks.push(session(up, picker)!);
      const n = picks.filter((p) => p === "a:1").length;
      now += seconds;
      return n;
    };
    return { share, advance: (s: number) => (now += s) };
  }

  test("round robin: the returning server's share grows over slow_start, then is its full weight", () => {
    const r = recovering();
    const first = r.share(5); // second 0 of the ramp: weight 1 of 10
    const middle = r.share(6); // 5 s in: about 5 of 10
    const after = r.share(0); // ramp over: 10 of 10
    assert.ok(first <= 25, `first 200 picks gave a ${first}`);
    assert.ok(middle > first && middle < 100, `mid-ramp gave a ${middle}`);
    assert.ok(after >= 95, `full weight again: an even split with b (a got ${after})`);
  });

  test("least_conn ramps the same way among tied servers", () => {
    const r = recovering(leastConn);
    const first = r.share(11);
    const after = r.share(0);
    assert.ok(first <= 25, `first picks gave a ${first}`);
    assert.ok(after >= 95, `a got ${after}`);
  });

  test("without slow_start a returning server takes its full share at once", () => {
    let now = 1000;
    const up = upstream(
      [server("a:1", { weight: 10, failTimeoutMs: 2_000 }), server("b:1", { weight: 10 })],
      undefined,
      () => now,
    );
    const sel = new PeerSelection(up, 0);
    roundRobin.pick(sel, context());
    sel.failed();
    now += 3;
    for (let i = 0; i < 50 && up.primary.peers[0]!.fails > 0; i++) session(up, roundRobin);
    const picks: string[] = [];
    for (let i = 0; i < 200; i++) picks.push(session(up, roundRobin)!);
    assert.ok(picks.filter((p) => p === "a:1").length >= 90);
  });

  test("an active check's recovery starts the ramp too", () => {
    let now = 1000;
    const up = upstream(
      [server("a:1", { weight: 10, slowStartMs: 10_000 }), server("b:1", { weight: 10 })],
      undefined,
      () => now,
    );
    const a = up.primary.peers[0]!;
    a.health = "unhealthy";
    session(up, roundRobin);
    a.health = "healthy";
    a.recovered(now);
    const picks: string[] = [];
    for (let i = 0; i < 200; i++) picks.push(session(up, roundRobin)!);
    assert.ok(picks.filter((p) => p === "a:1").length <= 25);
    now += 10;
    const later: string[] = [];
    for (let i = 0; i < 200; i++) later.push(session(up, roundRobin)!);
    assert.ok(later.filter((p) => p === "a:1").length >= 95, "full weight again after slow_start");
  });

  test("both spellings read it, and hash refuses it as NGINX Plus does", () => {
    const yaml = parseConfig(
      `stream:\n  upstreams:\n    u: { servers: [{ address: "127.0.0.1:1", slow_start: 30s }, "127.0.0.1:2"] }\n  servers: [{ listen: 1, proxy_pass: u }]\n`,
      "t.yaml",
    );
    assert.equal(yaml.stream.upstreams.get("u")!.servers[0]!.slowStartMs, 30_000);
    const nginx = parseConfig(
      `events {}\nstream {\n upstream u { server 127.0.0.1:1 slow_start=30s; server 127.0.0.1:2; }\n server { listen 1; proxy_pass u; }\n}\n`,
      "t.conf",
    );
    assert.equal(nginx.stream.upstreams.get("u")!.servers[0]!.slowStartMs, 30_000);
    assert.throws(
      () =>
        parseConfig(
          `events {}\nstream {\n upstream u { hash $remote_addr; server 127.0.0.1:1 slow_start=30s; }\n server { listen 1; proxy_pass u; }\n}\n`,
          "t.conf",
        ),
      (e: unknown) => e instanceof ConfigError && /does not support parameter "slow_start=30s"/.test(e.message),
    );
    assert.throws(
      () =>
        parseConfig(
          `stream:\n  upstreams:\n    u: { hash: $remote_addr, servers: [{ address: "127.0.0.1:1", slow_start: 30s }] }\n  servers: [{ listen: 1, proxy_pass: u }]\n`,
          "t.yaml",
        ),
      /does not support parameter "slow_start"/,
    );
  });
});
