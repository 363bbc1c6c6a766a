import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IdleSweeper } from "../../src/core/idle.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("idle sweeper (proxy_timeout)", () => {
  test("fires after the timeout when nothing moves", async () => {
    const sweeper = new IdleSweeper();
    let fired = 0;
    sweeper.watch(100, () => fired++);
    await sleep(60);
    assert.equal(fired, 0);
    await sleep(120);
    assert.equal(fired, 1);
  });

  test("activity keeps a session alive", async () => {
    const sweeper = new IdleSweeper();
    let fired = 0;
    const w = sweeper.watch(100, () => fired++);
    for (let i = 0; i < 8; i++) {
      w.active = true;
      await sleep(30);
    }
    assert.equal(fired, 0);
    sweeper.unwatch(100, w);
  });

  test("unwatch leaves no timer behind (the process can exit)", async () => {
    const sweeper = new IdleSweeper();
    let fired = 0;
    const w = sweeper.watch(50, () => fired++);
    sweeper.unwatch(50, w);
    await sleep(120);
    assert.equal(fired, 0);
    assert.equal((sweeper as unknown as { buckets: Map<number, unknown> }).buckets.size, 0);
  });
});
