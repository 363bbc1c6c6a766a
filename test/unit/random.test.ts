import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/index.ts";
import { type RandomInt, RandomPicker } from "../../src/core/balance/random.ts";
import { context, server, session, upstream } from "../support/peers.ts";

/** Draws from a fixed list (each value is taken modulo n), then repeats its last value. */
function scripted(values: number[]): RandomInt & { calls: number } {
  const draw = Object.assign((n: number) => values[Math.min(draw.calls++, values.length - 1)]! % n, { calls: 0 });
  return draw;
}

const ctx = context();

describe("random", () => {
  test("createPicker wires random and random two", () => {
    assert.equal((createPicker({ kind: "random", two: false, leastConn: false }) as RandomPicker).two, false);
    assert.equal((createPicker({ kind: "random", two: true, leastConn: true }) as RandomPicker).two, true);
  });

  test("a draw lands on the server owning that slot of the weight line", () => {
    const up = upstream([server("a:1", { weight: 2 }), server("b:1"), server("c:1", { weight: 3 })]);
    // Slots: a = 0..1, b = 2, c = 3..5.
    const picks = [0, 1, 2, 3, 5].map((x) => session(up, new RandomPicker(false, scripted([x])), ctx));
    assert.deepEqual(picks, ["a:1", "a:1", "b:1", "c:1", "c:1"]);
  });

  test("weights shape the distribution", () => {
    const up = upstream([server("a:1", { weight: 1 }), server("b:1", { weight: 3 })]);
    const picker = new RandomPicker(false);
    let b = 0;
    for (let i = 0; i < 4000; i++) if (session(up, picker, ctx) === "b:1") b++;
    assert.ok(b > 2700 && b < 3300, `b got ${b} of 4000`);
  });

  test("unusable draws are redrawn; 20 misses fall back to round robin", () => {
    const up = upstream([server("a:1", { down: true }), server("b:1"), server("c:1")]);
    assert.equal(session(up, new RandomPicker(false, scripted([0, 0, 2])), ctx), "c:1");
    const always = scripted([0]);
    assert.equal(session(up, new RandomPicker(false, always), ctx), "b:1");
    assert.equal(always.calls, 21);
  });

  test("random two keeps the draw with fewer conns per weight; the second wins ties", () => {
    const up = upstream([server("a:1"), server("b:1"), server("c:1", { weight: 2 })]);
    const [a, b, c] = up.primary.peers;
    a!.conns = 3;
    b!.conns = 1;
    assert.equal(session(up, new RandomPicker(true, scripted([0, 1])), ctx), "b:1");
    assert.equal(session(up, new RandomPicker(true, scripted([1, 0])), ctx), "b:1");
    c!.conns = 2; // 2 conns / weight 2 ties with b's 1/1
    assert.equal(session(up, new RandomPicker(true, scripted([1, 2])), ctx), "c:1");
    assert.equal(session(up, new RandomPicker(true, scripted([2, 1])), ctx), "b:1");
  });

  test("random two draws two distinct servers (a repeat is redrawn)", () => {
    const up = upstream([server("a:1"), server("b:1")]);
    up.primary.peers[1]!.conns = 5;
    const draws = scripted([1, 1, 1, 0]);
    assert.equal(session(up, new RandomPicker(true, draws), ctx), "a:1");
    assert.equal(draws.calls, 4);
  });

  test("fewer than two servers is round robin", () => {
    assert.equal(session(upstream([server("a:1")]), new RandomPicker(true, scripted([0])), ctx), "a:1");
  });
});
