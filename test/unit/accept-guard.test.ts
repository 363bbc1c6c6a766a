// The accept guard's policy, on a fake clock and fake descriptor counts: pause when a next
// session would not fit, [crit] at most once a second with a count, retry every 500 ms.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ACCEPT_RETRY_MS, AcceptGuard, type GuardClock } from "../../src/core/accept-guard.ts";
import type { Listener } from "../../src/core/runtime.ts";

function setup(limit: number) {
  const fds = { limitNow: limit, openNow: 10, limit: () => fds.limitNow, open: () => fds.openNow };
  const lines: string[] = [];
  const logger = { enabled: () => true, log: (level: string, m: string) => void lines.push(`[${level}] ${m}`) };
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: GuardClock = {
    now: () => now,
    setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }),
    clearTimeout: () => void timers.splice(0),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  const calls: string[] = [];
  const listener: Listener = {
    host: "127.0.0.1",
    port: 1,
    close: async () => undefined,
    pause: () => void calls.push("pause"),
    resume: () => void calls.push("resume"),
  };
  const guard = new AcceptGuard(fds, logger, () => [listener], clock);
  return { fds, lines, advance, calls, guard };
}

describe("accept guard", () => {
  test("far from the limit it neither counts nor pauses", () => {
    const { fds, guard, calls } = setup(100_000);
    let counted = 0;
    const open = fds.open;
    fds.open = () => (counted++, open());
    for (let i = 1; i <= 100; i++) guard.afterAccept(i);
    assert.deepEqual(calls, []);
    assert.equal(counted, 1, "one count for the baseline, none per accept");
  });

  test("no room for one more session: [crit], paused; resumes by itself once fds are free", () => {
    const { fds, guard, calls, lines, advance } = setup(20);
    fds.openNow = 19;
    guard.afterAccept(4);
    assert.deepEqual(calls, ["pause"]);
    assert.equal(guard.accepting, false);
    assert.deepEqual(lines, ["[crit] accept4() failed (24: Too many open files)"]);
    // Still full at the retries: one more line per second, with the count of the others.
    advance(ACCEPT_RETRY_MS);
    advance(ACCEPT_RETRY_MS);
    assert.deepEqual(lines.slice(1), ["[crit] accept4() failed (24: Too many open files) (1 more since the last line)"]);
    assert.deepEqual(calls, ["pause"], "listeners are paused once, not again");
    fds.openNow = 12;
    advance(ACCEPT_RETRY_MS);
    assert.deepEqual(calls, ["pause", "resume"]);
    assert.equal(guard.accepting, true);
  });

  test("a lowered limit is seen within a second", () => {
    const { fds, guard, calls, advance } = setup(1_000);
    fds.openNow = 30;
    guard.afterAccept(10);
    fds.limitNow = 31;
    guard.afterAccept(10);
    assert.deepEqual(calls, [], "the limit read a moment ago still holds");
    advance(1_000);
    guard.afterAccept(10);
    assert.deepEqual(calls, ["pause"]);
  });

  test("an unknown limit leaves accepting alone", () => {
    const { fds, guard, calls } = setup(0);
    (fds as { limit: () => number | null }).limit = () => null;
    fds.openNow = 1_000_000;
    guard.afterAccept(1);
    assert.deepEqual(calls, []);
  });
});
