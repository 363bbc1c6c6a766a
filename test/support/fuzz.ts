// What the fuzz tests (test/unit/fuzz-*.test.ts) share: the run budget, the per-case time
// bound, and the mutations that turn a valid document into a nearly valid one, which finds
// far more than random text does (random text rarely gets past the first word).
import assert from "node:assert/strict";
import process from "node:process";
import * as fc from "fast-check";
import { ConfigError } from "../../src/core/config/errors.ts";

/**
 * A fixed seed in `npm test` so a failure reproduces; `npm run fuzz` (test/fuzz.sh) passes a
 * random one in FUZZ_SEED and prints it, and a larger count in FUZZ_RUNS.
 */
const DEFAULT_SEED = 0x5717ea;
const DEFAULT_RUNS = 10_000;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${text} is not a whole number`);
  return n;
}

export const FUZZ_SEED = envInt("FUZZ_SEED", DEFAULT_SEED);
export const FUZZ_RUNS = envInt("FUZZ_RUNS", DEFAULT_RUNS);

/**
 * A guard against hangs and runaway (quadratic or worse) work, not a speed test: every input
 * is at most a few KiB, which each reader handles in well under a millisecond, so a case
 * taking this long means a loop that does not end in time. FUZZ_CASE_MS widens it on a
 * loaded machine.
 */
export const CASE_LIMIT_MS = envInt("FUZZ_CASE_MS", 2_000);

const RUNS_GIVEN = process.env["FUZZ_RUNS"] !== undefined && process.env["FUZZ_RUNS"] !== "";

/**
 * fast-check's parameters for one property: the shared seed and count. `share` cuts the
 * default count for a property whose cases are slow; a count given in FUZZ_RUNS is run whole.
 */
export function params(share = 1): fc.Parameters<unknown> {
  const runs = RUNS_GIVEN ? FUZZ_RUNS : Math.max(1, Math.round(FUZZ_RUNS * share));
  return { seed: FUZZ_SEED, numRuns: runs };
}

/** Runs per property for the protocol parsers' fuzzers: FUZZ_RUNS when given, else `fallback`. */
export function fuzzRuns(fallback: number): number {
  return RUNS_GIVEN ? FUZZ_RUNS : fallback;
}

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

/**
 * Runs `fn`, failing the case when it takes longer than the bound (see CASE_LIMIT_MS), thrown
 * or not. A slow run is timed once more and fails only if slow again: on a shared 2-core
 * machine a long run stalled 3 s on an input that reads in 8 ms, while an input that is
 * really slow is slow every time. `fn` must be pure (a parser), as it may run twice.
 */
export function bounded<T>(what: string, fn: () => T): T {
  const start = performance.now();
  let outcome: { readonly value: T } | { readonly error: unknown };
  try {
    outcome = { value: fn() };
  } catch (error) {
    outcome = { error };
  }
  if (performance.now() - start >= CASE_LIMIT_MS) {
    const again = performance.now();
    try {
      fn();
    } catch {
      // The first run's outcome stands; only the time is checked again.
    }
    withinBound(what, again);
  }
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

export async function boundedAsync<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    withinBound(what, start);
  }
}

function withinBound(what: string, start: number): void {
  const took = performance.now() - start;
  assert.ok(took < CASE_LIMIT_MS, `${what} took ${took.toFixed(0)} ms (bound ${CASE_LIMIT_MS} ms)`);
}

// --- mutations ---

export type Mutation =
  | { readonly op: "delete"; readonly at: number }
  | { readonly op: "duplicate"; readonly at: number }
  | { readonly op: "swap"; readonly at: number; readonly with: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "insert"; readonly at: number; readonly text: string }
  | { readonly op: "flip"; readonly at: number; readonly char: string };

/**
 * Pieces a config syntax gives meaning to, inserted or flipped in: nginx's and YAML's
 * punctuation, quotes, escapes, line ends, and a few odd characters (NUL, a lone surrogate,
 * a non-ASCII letter) that test the byte/character boundary.
 */
const INTERESTING = [
  ";",
  "{",
  "}",
  '"',
  "'",
  "\\",
  "$",
  "${",
  "#",
  "\n",
  "\r\n",
  " ",
  "\t",
  ":",
  "-",
  "[",
  "]",
  ",",
  "*",
  "&",
  "!",
  "|",
  ">",
  "?",
  "%",
  "=",
  "0",
  "-1",
  "65536",
  "99999999999999999999",
  "\0",
  "\ud800",
  "é",
  "…",
];

const interesting = fc.oneof(fc.constantFrom(...INTERESTING), fc.string({ maxLength: 3 }));

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: interesting }),
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), char: interesting }),
);

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

/**
 * Splits text into the tokens the mutations move: runs of spaces, line ends, punctuation one
 * character at a time, and words. Joining them gives the text back.
 */
export function tokens(text: string): string[] {
  return text.match(/[ \t]+|\r?\n|[;{}"'\\#$:,[\]\-]|[^ \t\r\n;{}"'\\#$:,[\]\-]+/g) ?? [];
}

/** Applies the mutations in turn; `at` and `with` wrap around the current token count. */
export function mutate(text: string, ms: readonly Mutation[]): string {
  let ts = tokens(text);
  for (const m of ms) {
    const n = ts.length;
    if (n === 0) {
      if (m.op === "insert") ts = [m.text];
      continue;
    }
    const i = m.at % n;
    switch (m.op) {
      case "delete":
        ts.splice(i, 1);
        break;
      case "duplicate":
        ts.splice(i, 0, ts[i]!);
        break;
      case "swap": {
        const j = m.with % n;
        [ts[i], ts[j]] = [ts[j]!, ts[i]!];
        break;
      }
      case "truncate":
        ts = ts.slice(0, i);
        break;
      case "insert":
        ts.splice(i, 0, m.text);
        break;
      case "flip": {
        // One character of the token replaced: the smallest change, inside a word or a quote.
        const t = ts[i]!;
        const k = m.at % t.length;
        ts[i] = t.slice(0, k) + m.char + t.slice(k + 1);
        break;
      }
    }
  }
  return ts.join("");
}

/** Text that looks like config: mostly the characters configs are made of. */
export const configish = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...INTERESTING) },
    { weight: 5, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz_0123456789.") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 300,
});

/** Any text at all, including lone surrogates and control characters. */
export const anyText = fc.string({ unit: "binary", maxLength: 300 });

/** The number of lines in a text, for checking that a reported line is inside it. */
export function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * The test runner's limit for one property (Bun's default is 5 s): generous for the CI count,
 * and growing with FUZZ_RUNS for the long runs.
 */
export const FUZZ_TIMEOUT_MS = Math.max(1, FUZZ_RUNS / DEFAULT_RUNS) * 120_000;

/**
 * Reads `text` with `read`: fine when it returns; when it throws, the exception must be a
 * ConfigError naming `file` and a line inside the text, or one of `withoutLine` (whole-config
 * problems nginx reports without a place). Anything else fails the case.
 */
export function readOrConfigError(
  text: string,
  file: string,
  read: (text: string) => unknown,
  withoutLine: readonly RegExp[] = [],
): ConfigError | null {
  try {
    bounded(`reading ${JSON.stringify(text.slice(0, 80))}`, () => read(text));
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    assert.ok(e.problem.length > 0);
    if (e.loc === null) {
      assert.ok(withoutLine.some((re) => re.test(e.problem)), `no location for: ${e.problem}`);
    } else {
      assert.equal(e.loc.file, file, e.message);
      assert.ok(e.loc.line >= 1 && e.loc.line <= lineCount(text), `line ${e.loc.line} of ${lineCount(text)}: ${e.message}`);
    }
    return e;
  }
}
