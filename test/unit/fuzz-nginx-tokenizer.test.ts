// Property tests of the nginx tokenizer: any text reads into a tree whose only failure is a
// ConfigError node at a line inside the text, and a generated tree written out with nginx's
// quoting reads back word for word, block for block, line for line.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as fc from "fast-check";
import { ConfigError } from "../../src/core/config/errors.ts";
import { type NginxNode, tokenizeNginx } from "../../src/core/config/read-nginx/tokenizer.ts";
import { nginxConfig } from "../support/config-gen.ts";
import { anyText, bounded, configish, FUZZ_TIMEOUT_MS, lineCount, mutate, mutations, params } from "../support/fuzz.ts";

const FILE = "fuzz.conf";

/**
 * What holds for any tree: an error node is a ConfigError in this file at a line of the text,
 * and it ends the read, so it is the last node of its block and of every block around it.
 */
function checkTree(nodes: readonly NginxNode[], text: string, last: boolean): void {
  const lines = lineCount(text);
  nodes.forEach((n, i) => {
    const isLast = last && i === nodes.length - 1;
    if (n.kind === "error") {
      assert.ok(n.error instanceof ConfigError, `not a ConfigError: ${String(n.error)}`);
      assert.equal(n.error.loc?.file, FILE);
      assert.ok(n.error.loc.line >= 1 && n.error.loc.line <= lines, `line ${n.error.loc.line} of ${lines}`);
      assert.ok(isLast, `an error that is not the last node: ${n.error.message}`);
      return;
    }
    assert.equal(n.words.length, n.args.length + 1);
    assert.ok(n.line >= 1 && n.line <= lines && n.endLine >= n.line && n.endLine <= lines);
    for (const w of n.words) assert.ok(w.line >= 1 && w.line <= n.line, `word on line ${w.line} after its directive's ${n.line}`);
    if (n.block) checkTree(n.block, text, isLast);
  });
}

function read(text: string): NginxNode[] {
  return bounded(`tokenizing ${JSON.stringify(text.slice(0, 80))}`, () => tokenizeNginx(text, FILE));
}

// --- a grammar of trees, written out as text with each directive's line known ---

interface Tree {
  readonly words: readonly string[];
  readonly block: readonly Tree[] | null;
}

/** Any text a word may hold: nginx's special characters, line ends, non-ASCII, empty. */
const anyWord = fc.string({ unit: fc.constantFrom(..."ab$ {};#\"'\\\n\t\r()é€😀~"), maxLength: 12 });

// One depth identifier for the array and the option, so nesting stays shallow and cheap.
const tree: fc.Arbitrary<Tree[]> = fc.letrec<{ nodes: Tree[]; node: Tree }>((tie) => ({
  nodes: fc.array(tie("node"), { maxLength: 4, depthIdentifier: "tree" }),
  node: fc.record({
    words: fc.array(anyWord, { minLength: 1, maxLength: 4 }),
    block: fc.option(tie("nodes"), { nil: null, depthSize: "small", depthIdentifier: "tree" }),
  }),
})).nodes;

/** A word that reads back as `text`: always quoted, with `\` and `"` escaped (nginx's rules). */
const quote = (text: string) => `"${text.replace(/[\\"]/g, "\\$&")}"`;

interface Expected {
  readonly words: readonly string[];
  readonly line: number;
  readonly endLine: number;
  readonly block: readonly Expected[] | null;
}

/** Writes the trees, separating words by `sep`, and returns the directive lines the text holds. */
function write(nodes: readonly Tree[], sep: string): { text: string; expected: Expected[] } {
  let text = "";
  let line = 1;
  const put = (s: string) => {
    text += s;
    for (const ch of s) if (ch === "\n") line++;
  };
  const walk = (ns: readonly Tree[]): Expected[] =>
    ns.map((n) => {
      put(n.words.map(quote).join(sep));
      if (n.block === null) {
        put(";");
        const at = line;
        put("\n");
        return { words: n.words, line: at, endLine: at, block: null };
      }
      put(" {");
      const at = line;
      put("\n");
      const block = walk(n.block);
      put("}");
      const end = line;
      put("\n");
      return { words: n.words, line: at, endLine: end, block };
    });
  const expected = walk(nodes);
  return { text, expected };
}

function shape(nodes: readonly NginxNode[]): Expected[] {
  return nodes.map((n) => {
    assert.equal(n.kind, "directive", n.kind === "error" ? n.error.message : "");
    const d = n as Extract<NginxNode, { kind: "directive" }>;
    return { words: d.words.map((w) => w.text), line: d.line, endLine: d.endLine, block: d.block && shape(d.block) };
  });
}

describe("nginx tokenizer (property)", () => {
  test("any text: a tree, or a ConfigError node last, at a line of the text", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(fc.oneof(anyText, configish), (text) => checkTree(read(text), text, true)),
      params(),
    );
  });

  test("valid configs with tokens deleted, duplicated, swapped, truncated or flipped", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(nginxConfig, mutations, (g, ms) => {
        const text = mutate(g.text, ms);
        checkTree(read(text), text, true);
      }),
      params(),
    );
  });

  test("a tree written with nginx's quoting reads back word for word, with its lines", { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(tree, fc.constantFrom(" ", "\t", "\n", " \n\t"), (nodes, sep) => {
        const { text, expected } = write(nodes, sep);
        assert.deepEqual(shape(read(text)), expected);
      }),
      params(),
    );
  });
});
