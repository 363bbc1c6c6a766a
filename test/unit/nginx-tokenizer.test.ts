// ngx_conf_read_token's rules, case by case. The expected errors and lines are what nginx
// 1.22 (`nginx -t`) printed for the same input; the cases were checked side by side.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type NginxNode, tokenizeNginx } from "../../src/core/config/read-nginx/tokenizer.ts";

/** The directives as `name arg arg` strings, blocks as `name { … }`, errors as `!message:line`. */
function flat(nodes: readonly NginxNode[]): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    if (n.kind === "error") {
      out.push(`!${n.error.problem}:${n.error.loc?.line}`);
      continue;
    }
    const head = [n.name, ...n.args].map((w) => JSON.stringify(w)).join(" ");
    if (n.block === null) out.push(`${head} ;${n.line}`);
    else out.push(`${head} {${n.line}`, ...flat(n.block), `}${n.endLine}`);
  }
  return out;
}

const words = (text: string) => flat(tokenizeNginx(text, "t.conf"));

describe("nginx tokenizer: words", () => {
  const cases: Array<[string, string, string[]]> = [
    ["plain words", "worker_processes 4;", [`"worker_processes" "4" ;1`]],
    ["# starts a comment only at a word's start", "foo#bar baz; # note ; {", [`"foo#bar" "baz" ;1`]],
    ["a comment ends at the line's end", "# a ; b {\nx y;", [`"x" "y" ;2`]],
    ["quotes may hold spaces, newlines, ; { }", `a "b c\n;{}#" d;`, [`"a" "b c\\n;{}#" "d" ;2`]],
    ["single quotes too", `a 'b "c"';`, [`"a" "b \\"c\\"" ;1`]],
    ["a quote inside a word is a character", `a b"c"d;`, [`"a" "b\\"c\\"d" ;1`]],
    ["a quoted word may be followed by ;", `a "b";`, [`"a" "b" ;1`]],
    ["a quoted word may be followed by {", `a "b"{ }`, [`"a" "b" {1`, "}1"]],
    ["after a quoted word, ) starts the next word", `a "b")c;`, [`"a" "b" ")c" ;1`]],
    ["\\\" \\' \\\\ give the character", `a \\"x\\'y\\\\z;`, [`"a" "\\"x'y\\\\z" ;1`]],
    ["\\t \\r \\n give control characters", `a "x\\ty\\rz\\n";`, [`"a" "x\\ty\\rz\\n" ;1`]],
    ["any other escape keeps its backslash", `a ~^\\d+\\.x$ "\\x80";`, [`"a" "~^\\\\d+\\\\.x$" "\\\\x80" ;1`]],
    ["an escaped ; does not end the word", `a b\\;c;`, [`"a" "b\\\\;c" ;1`]],
    ["$var", "set $a $b;", [`"set" "$a" "$b" ;1`]],
    ["${var}: { after $ does not open a block", "set $a ${b}c;", ['"set" "$a" "${b}c" ;1']],
    ["${var} at a word's start", "hash ${remote_addr};", ['"hash" "${remote_addr}" ;1']],
    ["} inside a word is a character", "a b}c;", [`"a" "b}c" ;1`]],
    ["tabs and CRLF separate words", "a\tb\r\nc;", [`"a" "b" "c" ;2`]],
    [
      "blocks nest and record their lines",
      "stream {\n  upstream u {\n    server a:1;\n  }\n}\n",
      [`"stream" {1`, `"upstream" "u" {2`, `"server" "a:1" ;3`, "}4", "}5"],
    ],
    ["a directive's line is the line of its ; (where nginx reports it)", "listen\n  80\n;", [`"listen" "80" ;3`]],
    ["a word of 4095 bytes fits nginx's buffer", `a ${"x".repeat(4095)};`, [`"a" "${"x".repeat(4095)}" ;1`]],
    ["long runs of whitespace are fine", `a${" ".repeat(5000)}b${"\n".repeat(5000)};`, [`"a" "b" ;5001`]],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.deepEqual(words(input), expected));
  }

  test("every word knows its line", () => {
    const [d] = tokenizeNginx(`a\n"b\nc"\nd;`, "t.conf");
    assert.ok(d && d.kind === "directive");
    assert.deepEqual(
      d.words.map((w) => [w.text, w.line]),
      [
        ["a", 1],
        ["b\nc", 2],
        ["d", 4],
      ],
    );
  });

  test("UTF-8 passes through", () => {
    assert.deepEqual(words(`a "héllo wörld";`), [`"a" "héllo wörld" ;1`]);
  });
});

describe("nginx tokenizer: errors, in nginx's words and at nginx's line", () => {
  const long = "x".repeat(5000);
  const cases: Array<[string, string, string]> = [
    ["an empty directive", "a;\n;", `unexpected ";":2`],
    ["a block without a name", "\n{", `unexpected "{":2`],
    ["} with words pending", "events {\n  worker_connections 1 }\n", `unexpected "}":2`],
    ["} at the top level", "a;\n}", `unexpected "}":2`],
    ["a character right after a closing quote", `pid "a"b;`, `unexpected "b":1`],
    ["} right after a closing quote", `pid "a"}`, `unexpected "}":1`],
    ["end of file inside a block", "stream {\n  server {\n", `unexpected end of file, expecting "}":3`],
    ["end of file after words", "events {}\npid x\n\n", `unexpected end of file, expecting ";" or "}":4`],
    ["end of file inside a word", "events {}\npid", `unexpected end of file, expecting ";" or "}":2`],
    ["end of file inside quotes", `pid "abc`, `unexpected end of file, expecting ";" or "}":1`],
    ["a word over 4096 bytes", `a\n${long};`, `too long parameter "xxxxxxxxxx..." started:2`],
    ["a word of exactly 4096 bytes", `a ${"y".repeat(4096)};`, `too long parameter "yyyyyyyyyy..." started:1`],
    ["a quoted word over 4096 bytes", `a "${long}";`, `too long parameter, probably missing terminating """ character:1`],
    ["a single-quoted word over 4096 bytes", `a '${long}';`, `too long parameter, probably missing terminating "'" character:1`],
    // nginx measures from where the last word started, so a long comment counts too.
    ["a comment over 4096 bytes", `# ${long}\na;`, `too long parameter "# xxxxxxxx..." started:1`],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      const all = words(input);
      assert.equal(all.find((w) => w.startsWith("!")), `!${expected}`, all.join("\n"));
    });
  }

  test("a comment at the end of the file is fine", () => {
    assert.deepEqual(words("a;\n# end"), [`"a" ;1`]);
  });

  test("what comes before a syntax error stays in the tree, in order", () => {
    assert.deepEqual(words("a;\nstream {\n  b;\n  c d"), [
      `"a" ;1`,
      `"stream" {2`,
      `"b" ;3`,
      `!unexpected end of file, expecting ";" or "}":4`,
      "}4",
    ]);
  });
});
