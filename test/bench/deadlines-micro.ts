// A/B in one process for the connect timeout: a setTimeout/clearTimeout pair per connect (and,
// as the Deno adapter had, AbortSignal.timeout) against Deadlines' add/cancel, interleaved in
// rounds so the machine's drift hits both. Run: node dist/js/test/bench/deadlines-micro.js,
// bun test/bench/deadlines-micro.ts, deno run test/bench/deadlines-micro.ts.
import { Deadlines } from "../../src/core/deadlines.ts";

const N = 200_000;
const ROUNDS = 5;
const noop = () => {};
const deadlines = new Deadlines((timer) => timer.unref());

const cases: Record<string, () => void> = {
  "setTimeout+clearTimeout": () => {
    for (let i = 0; i < N; i++) clearTimeout(setTimeout(noop, 60_000));
  },
  "Deadlines add+cancel": () => {
    for (let i = 0; i < N; i++) deadlines.cancel(60_000, deadlines.add(60_000, noop));
  },
  "AbortSignal.timeout": () => {
    for (let i = 0; i < N; i++) AbortSignal.timeout(60_000);
  },
  "AbortController+Deadlines": () => {
    for (let i = 0; i < N; i++) {
      const a = new AbortController();
      deadlines.cancel(60_000, deadlines.add(60_000, () => a.abort()));
    }
  },
};

const ns: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const t0 = performance.now();
    run();
    (ns[name] ??= []).push(((performance.now() - t0) * 1e6) / N);
  }
}
for (const [name, v] of Object.entries(ns)) {
  v.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(28)} median ${v[ROUNDS >> 1]!.toFixed(0)} ns/connect (min ${v[0]!.toFixed(0)}, max ${
      v[ROUNDS - 1]!.toFixed(0)
    })`,
  );
}
// AbortSignal.timeout's timers cannot be cleared: leave without waiting for them.
setTimeout(() => (globalThis as { process?: { exit(c: number): void } }).process?.exit(0), 0);
