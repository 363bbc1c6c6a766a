// The rate pacing every adapter's relay uses (src/runtime/pace.ts): nginx's budget arithmetic,
// and the order in which a Pacer forwards, waits for flushes and lets its source read again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type PacedSink, Pacer, RateBudget } from "../../src/runtime/pace.ts";

function sink(takes: boolean) {
  const events: string[] = [];
  const s: PacedSink = {
    forward: (b) => (events.push(`forward ${b.byteLength}`), takes),
    readAgain: () => void events.push("readAgain"),
    touch: () => {},
  };
  return { s, events };
}

describe("RateBudget", () => {
  test("nginx's arithmetic: the pause after n bytes, the wait for an overdraft", () => {
    const b = new RateBudget(1000, 0);
    assert.equal(b.took(250), 250);
    assert.equal(b.received, 250);
    assert.equal(b.took(1), 1);
    assert.equal(b.waitMs(-500), 501);
    assert.equal(b.waitMs(0), 1);
    assert.equal(new RateBudget(3, 0).took(1), 333);
  });

  test("the first second's allowance is one second's worth, less what the side already sent", () => {
    const fresh = new RateBudget(1000, 0).allowance();
    const early = new RateBudget(1000, 400).allowance();
    // A whole-second clock: a second boundary between construction and the call adds a second.
    assert.ok(fresh === 1000 || fresh === 2000, `${fresh}`);
    assert.ok(early === 600 || early === 1600, `${early}`);
  });
});

describe("Pacer", () => {
  test("a write the kernel did not finish holds everything back until flushed()", () => {
    const { s, events } = sink(false);
    const p = new Pacer(new RateBudget(1e9, 0), s);
    p.hold(new Uint8Array(100));
    assert.deepEqual(events, ["forward 100"]);
    assert.equal(p.busy, true);
    p.flushed();
    assert.deepEqual(events, ["forward 100", "readAgain"]);
    assert.equal(p.busy, false);
  });

  test("past the budget: one slice now, the rest after a pause, and no read meanwhile", () => {
    const { s, events } = sink(true);
    const p = new Pacer(new RateBudget(1000, 0), s);
    p.hold(new Uint8Array(3000));
    assert.equal(events.length, 1);
    const first = Number(events[0]!.split(" ")[1]);
    assert.ok(first >= 1000 && first <= 2000, events[0]);
    assert.equal(p.pausing, true);
    assert.ok(!events.includes("readAgain"));
    p.stop();
    assert.equal(p.pausing, false);
    assert.equal(p.busy, false);
  });
});
