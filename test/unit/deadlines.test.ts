import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Deadlines } from "../../src/core/deadlines.ts";

/** What the adapters pass: Node's and Bun's timers have unref(); Deno's numbers do not here. */
const unref = (timer: ReturnType<typeof setTimeout>): void => (timer as { unref?: () => void }).unref?.();

/** Resolves once `count` callbacks made by `counter` have run. */
function counter(count: number): { hit: (tag: number) => void; done: Promise<number[]> } {
  const seen: number[] = [];
  let resolve!: (v: number[]) => void;
  const done = new Promise<number[]>((r) => (resolve = r));
  return {
    hit: (tag) => {
      seen.push(tag);
      if (seen.length === count) resolve(seen);
    },
    done,
  };
}

/**
 * The lanes' timers are unref'd (a real connect's socket keeps the process up): here nothing
 * else would, so a ref'd interval holds the test up while it waits.
 */
async function held<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(hold);
  }
}

describe("connect deadlines (proxy_connect_timeout)", () => {
  test("fires each deadline not cancelled, once, oldest first; cancelled ones never", async () => {
    const d = new Deadlines(unref);
    const c = counter(3);
    const all = [0, 1, 2, 3, 4].map((i) => d.add(2, () => c.hit(i)));
    d.cancel(2, all[1]!);
    d.cancel(2, all[3]!);
    assert.equal(d.pending(), 3);
    assert.deepEqual(await held(c.done), [0, 2, 4]);
    assert.equal(d.pending(), 0);
    // A cancel after firing changes nothing.
    d.cancel(2, all[0]!);
    assert.equal(d.pending(), 0);
  });

  test("timeouts of different lengths run on their own lanes, and the shorter fires first", async () => {
    const d = new Deadlines(unref);
    const c = counter(2);
    d.add(40, () => c.hit(40));
    d.add(1, () => c.hit(1));
    assert.deepEqual(await held(c.done), [1, 40]);
  });

  test("a deadline added from a firing callback (the next upstream's connect) fires too", async () => {
    const d = new Deadlines(unref);
    const c = counter(2);
    d.add(1, () => {
      c.hit(1);
      d.add(1, () => c.hit(2));
    });
    assert.deepEqual(await held(c.done), [1, 2]);
    assert.equal(d.pending(), 0);
  });

  test("a lane whose deadlines were all cancelled fires nothing, and takes new ones after", async () => {
    const d = new Deadlines(unref);
    let fired = 0;
    const early = d.add(1, () => fired++);
    d.cancel(1, early);
    const c = counter(1);
    d.add(3, () => c.hit(3));
    await held(c.done);
    // The 1 ms lane's timer has long fired by now (the 3 ms one fired later): it called nothing.
    assert.equal(fired, 0);
    const again = counter(1);
    d.add(1, () => again.hit(1));
    assert.deepEqual(await held(again.done), [1]);
  });

  test("many cancelled connects: the count stays right while the queue is compacted", async () => {
    const d = new Deadlines(unref);
    const keep = new Set([5, 2500, 4999]);
    const c = counter(keep.size);
    const made = [];
    for (let i = 0; i < 5000; i++) made.push(d.add(5, () => c.hit(i)));
    for (let i = 0; i < 5000; i++) if (!keep.has(i)) d.cancel(5, made[i]!);
    assert.equal(d.pending(), keep.size);
    // More adds after the cancels: this is when the lane drops its cancelled entries.
    const late = counter(1);
    d.add(5, () => late.hit(-1));
    assert.deepEqual(await held(c.done), [5, 2500, 4999]);
    assert.deepEqual(await held(late.done), [-1]);
    assert.equal(d.pending(), 0);
  });

  test("a deadline is not fired before its time on the given clock", async () => {
    // The clock stands still, so the deadline is never due: the timer looks and re-arms.
    let now = 1000;
    const d = new Deadlines(unref, () => now);
    let fired = 0;
    const c = counter(1);
    d.add(1, () => {
      fired++;
      c.hit(1);
    });
    await new Promise((r) => setTimeout(r, 15));
    assert.equal(fired, 0);
    assert.equal(d.pending(), 1);
    now += 1; // due now: the timer's next look fires it
    await held(c.done);
    assert.equal(fired, 1);
    assert.equal(d.pending(), 0);
  });
});
