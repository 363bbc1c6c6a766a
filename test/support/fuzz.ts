// Shared settings of the property tests: a fixed seed so a failure replays, and the run count
// from FUZZ_RUNS (`npm run fuzz` raises it) so CI stays within its time.
import fc from "fast-check";

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};

/** Runs per property: FUZZ_RUNS, else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const n = Number(env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export const FUZZ_SEED = 0x5eed13;

/**
 * `part` gives each of several tests of one property its own seed: a property is split into
 * tests of a few seconds each because Bun stops any test after 5 s by default.
 */
export function fuzzParams(fallback: number, part = 0): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED + part, numRuns: fuzzRuns(fallback), endOnFailure: true };
}

/** Bytes changed the ways a broken sender changes them: a byte flipped, cut, inserted, dropped. */
export function mutated(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(base, fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
    .map(([bytes, edits]) => {
      let b = Array.from(bytes);
      for (const [kind, pos, value] of edits) {
        const at = b.length === 0 ? 0 : pos % (b.length + (kind === 2 ? 1 : 0));
        if (kind === 0 && b.length > 0) b[at] = value;
        else if (kind === 1) b = b.slice(0, at);
        else if (kind === 2) b.splice(at, 0, value);
        else if (b.length > 0) b.splice(at, 1);
      }
      return Uint8Array.from(b);
    });
}
