import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leastConn } from "../../src/core/balance/least-conn.ts";
import { createPicker } from "../../src/core/balance/index.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { context, hold, server, session, upstream } from "../support/peers.ts";

const ctx = context();
const method = { kind: "least_conn" } as const;

describe("least_conn", () => {
  test("createPicker wires it", () => {
    assert.equal(createPicker(method), leastConn);
  });

  test("short sessions always tie, so it is smooth WRR: weights 5,1,1 give a a b a c a a", () => {
    const up = upstream([server("a:1", { weight: 5 }), server("b:1"), server("c:1")], method);
    const picks = Array.from({ length: 7 }, () => session(up, leastConn, ctx));
    assert.deepEqual(picks, ["a:1", "a:1", "b:1", "a:1", "c:1", "a:1", "a:1"]);
  });

  test("held connections: ties resolved by the weights carried from earlier rounds (a b c c b)", () => {
    // Worked by hand from nginx's two passes: the 4th pick is a three-way tie whose current
    // weights are a=-2, b=0, c=2 (c alone won the 3rd pick without a WRR round), so c wins again.
    const up = upstream([server("a:1"), server("b:1"), server("c:1")], method);
    const picks = Array.from({ length: 5 }, () => hold(up, leastConn, ctx).current!.address);
    assert.deepEqual(picks, ["a:1", "b:1", "c:1", "c:1", "b:1"]);
    assert.deepEqual(
      [...up.allPeers()].map((p) => [p.conns, p.currentWeight]),
      [
        [1, 0],
        [2, 0],
        [2, 0],
      ],
    );
  });

  test("conns are compared per weight: a(weight 2) takes two for b's one", () => {
    const up = upstream([server("a:1", { weight: 2 }), server("b:1")], method);
    const picks = Array.from({ length: 6 }, () => hold(up, leastConn, ctx).current!.address);
    assert.deepEqual(picks, ["a:1", "b:1", "a:1", "b:1", "a:1", "a:1"]);
  });

  test("released connections make a server least loaded again", () => {
    const up = upstream([server("a:1"), server("b:1")], method);
    const first = hold(up, leastConn, ctx);
    const second = hold(up, leastConn, ctx);
    assert.equal(first.current!.address, "a:1");
    assert.equal(second.current!.address, "b:1");
    first.release();
    assert.equal(hold(up, leastConn, ctx).current!.address, "a:1");
    assert.equal(hold(up, leastConn, ctx).current!.address, "b:1");
  });

  test("down, failed-out and max_conns servers are skipped", () => {
    const now = 1000;
    const up = upstream(
      [server("a:1", { down: true }), server("b:1", { maxConns: 1 }), server("c:1"), server("d:1")],
      method,
      () => now,
    );
    const [, b, , d] = [...up.allPeers()];
    b!.conns = 1;
    d!.fails = 1;
    d!.checkedSec = now;
    const picks = Array.from({ length: 3 }, () => session(up, leastConn, ctx));
    assert.deepEqual(picks, ["c:1", "c:1", "c:1"]);
  });

  test("a session retries the other servers, never the same one twice", () => {
    const up = upstream([server("a:1"), server("b:1"), server("c:1")], method);
    const sel = new PeerSelection(up, 0);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(leastConn.pick(sel, ctx)!.address);
      sel.failed();
    }
    assert.deepEqual([...seen].sort(), ["a:1", "b:1", "c:1"]);
  });

  test("backups only when every primary is unusable; all failed → null and every server live again", () => {
    const now = 1000;
    const up = upstream(
      [server("a:1"), server("b:1"), server("x:1", { backup: true }), server("y:1", { backup: true })],
      method,
      () => now,
    );
    for (const p of up.primary.peers) {
      p.fails = 1;
      p.checkedSec = now;
    }
    assert.deepEqual([session(up, leastConn, ctx), session(up, leastConn, ctx)], ["x:1", "y:1"]);
    for (const p of up.allPeers()) {
      p.fails = 1;
      p.checkedSec = now;
    }
    assert.equal(session(up, leastConn, ctx), null);
    assert.deepEqual(
      [...up.allPeers()].map((p) => p.fails),
      [0, 0, 0, 0],
    );
  });

  test("a lone server is round robin: picked while up, null when down", () => {
    assert.equal(session(upstream([server("a:1")], method), leastConn, ctx), "a:1");
    assert.equal(session(upstream([server("a:1", { down: true })], method), leastConn, ctx), null);
  });
});
