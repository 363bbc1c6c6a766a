// Property tests of the complex-value parser (`text $var ${var} $1`, ngx_stream_script_compile's
// splitting): any text splits into pieces or fails with VariableSyntaxError, nothing else;
// pieces written back split the same; a value built from known pieces splits into them and
// evaluates to the text a session's variables make of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { ComplexValue, type Piece, splitVariables, VariableSyntaxError } from "../../src/core/variables/complex-value.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { variableContext } from "../support/variable-context.ts";
import { anyText, bounded, FUZZ_TIMEOUT_MS, params } from "../support/fuzz.ts";

/** Text heavy in what the splitter gives meaning to. */
const dollarText = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("$", "${", "}", "{", "$1", "$0", "$9", "_", "-", " ", "\\") },
    { weight: 4, arbitrary: fc.constantFrom(..."abcXYZ019") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 60,
});

/** Writes pieces back as source: names always braced, so what follows cannot join them. */
function render(pieces: readonly Piece[]): string {
  return pieces.map((p) => ("text" in p ? p.text : "name" in p ? `\${${p.name}}` : `$${p.capture}`)).join("");
}

/** Adjacent text pieces as one (the splitter never yields two in a row). */
function merged(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if ("text" in p && last !== undefined && "text" in last) out[out.length - 1] = { text: last.text + p.text };
    else if (!("text" in p && p.text === "")) out.push(p);
  }
  return out;
}

const NAMES = ["a", "b1", "remote_addr", "x_y", "Z"];
const piece: fc.Arbitrary<Piece> = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."ab:-. {}\\1_"), maxLength: 6 }).map((text) => ({ text })),
  fc.constantFrom(...NAMES).map((name) => ({ name })),
  fc.integer({ min: 1, max: 9 }).map((capture) => ({ capture })),
);

function split(text: string): Piece[] | VariableSyntaxError {
  try {
    return bounded(`splitting ${JSON.stringify(text)}`, () => splitVariables(text));
  } catch (e) {
    if (e instanceof VariableSyntaxError) return e;
    throw e;
  }
}

describe("complex values (property)", () => {
  test("any text: pieces or a VariableSyntaxError at a `$` of the text; pieces written back split the same", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    fc.assert(
      fc.property(fc.oneof(anyText, dollarText), (text) => {
        const got = split(text);
        if (got instanceof VariableSyntaxError) {
          assert.equal(text[got.at], "$", `the error points at a "$": ${got.at} in ${JSON.stringify(text)}`);
          return;
        }
        for (const p of got) {
          if ("name" in p) assert.match(p.name, /^[A-Za-z0-9_]+$/);
          if ("capture" in p) assert.ok(p.capture >= 1 && p.capture <= 9);
          if ("text" in p) assert.ok(p.text.length > 0 && !p.text.includes("$"));
        }
        assert.deepEqual(split(render(got)), got);
      }),
      params(),
    );
  });

  test("a value built from pieces splits into them and evaluates to what its variables hold", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }),
        fc.array(fc.string({ maxLength: 5 }), { minLength: NAMES.length, maxLength: NAMES.length }),
        fc.array(fc.string({ maxLength: 4 }), { minLength: 10, maxLength: 10 }),
        (pieces, values, captures) => {
          const source = render(pieces);
          assert.deepEqual(split(source), merged(pieces));
          const r = new VariableRegistry();
          const indexes = NAMES.map((n) => (n === "remote_addr" ? r.resolve(n) : r.declareSet(n)));
          const value = ComplexValue.compile(source, r);
          r.check();
          const s = new SessionVariables(r, variableContext({ remoteAddress: values[NAMES.indexOf("remote_addr")]! }));
          NAMES.forEach((n, i) => n !== "remote_addr" && s.assign(indexes[i]!, values[i]!));
          s.captures = captures;
          const expected = pieces.map((p) =>
            "text" in p ? p.text : "name" in p ? values[NAMES.indexOf(p.name)]! : captures[p.capture]!
          ).join("");
          assert.equal(value.evaluate(s), expected);
          assert.equal(value.constant !== null, pieces.every((p) => "text" in p));
        },
      ),
      params(),
    );
  });
});
