// nginx's config syntax, read the way ngx_conf_read_token (src/core/ngx_conf_file.c) reads it,
// so a file nginx accepts reads the same here and a file it rejects fails with its words and
// line. It works on UTF-8 bytes because nginx's limits (a 4096-byte parameter) count bytes.
//
// The result is a tree of directives. A syntax error does not throw: it becomes an "error"
// node at the place it was found, and everything before it stays in the tree. nginx acts on
// each directive as soon as it has read it, so a misplaced directive on line 3 is reported
// before a missing `}` at the end of the file; the interpreter walks the tree in order and
// throws whichever problem it meets first, which gives the same first error as nginx.
import { ConfigError } from "../errors.ts";

/** One word of a directive, unquoted and unescaped, with the line it starts on. */
export interface NginxWord {
  readonly text: string;
  readonly line: number;
}

export interface NginxDirective {
  readonly kind: "directive";
  readonly name: string;
  /** The words after the name. */
  readonly args: readonly string[];
  /** Every word, the name first, with its line. */
  readonly words: readonly NginxWord[];
  readonly file: string;
  /** The line of the `;` or `{` that ends the directive: where nginx reports its problems. */
  readonly line: number;
  /** The directives inside `{ … }`; null for a directive ended by `;`. */
  readonly block: readonly NginxNode[] | null;
  /** The line of the closing `}` (equal to `line` for a directive ended by `;`). */
  readonly endLine: number;
}

/** A syntax error, kept in the tree where it happened (see the file comment). */
export interface NginxSyntaxError {
  readonly kind: "error";
  readonly error: ConfigError;
}

export type NginxNode = NginxDirective | NginxSyntaxError;

/** NGX_CONF_BUFFER: nginx reads a config through a buffer of this many bytes. */
const CONF_BUFFER = 4096;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const SEMICOLON = 0x3b;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DOLLAR = 0x24;
const RPAREN = 0x29;

const isSpace = (ch: number) => ch === SPACE || ch === TAB || ch === CR || ch === LF;

type Token =
  | { readonly kind: "directive"; readonly words: NginxWord[]; readonly opensBlock: boolean; readonly line: number }
  | { readonly kind: "close"; readonly line: number }
  | { readonly kind: "eof"; readonly line: number };

const utf8 = new TextDecoder();

/** Reads a whole file into a directive tree; never throws (errors are nodes, see above). */
export function tokenizeNginx(text: string, file: string): NginxNode[] {
  return new Reader(new TextEncoder().encode(text), file).readFile();
}

class Reader {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly src: Uint8Array,
    private readonly file: string,
  ) {}

  readFile(): NginxNode[] {
    return this.block(false).nodes;
  }

  /** Reads directives until the block's `}` (or the end of the file for the top level). */
  private block(inBlock: boolean): { nodes: NginxNode[]; endLine: number; failed: boolean } {
    const nodes: NginxNode[] = [];
    const fail = (problem: string, line: number) => {
      nodes.push({ kind: "error", error: this.error(problem, line) });
      return { nodes, endLine: line, failed: true };
    };
    for (;;) {
      let token: Token;
      try {
        token = this.token();
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        nodes.push({ kind: "error", error: e });
        return { nodes, endLine: this.line, failed: true };
      }
      if (token.kind === "close") {
        if (!inBlock) return fail(`unexpected "}"`, token.line);
        return { nodes, endLine: token.line, failed: false };
      }
      if (token.kind === "eof") {
        if (inBlock) return fail(`unexpected end of file, expecting "}"`, token.line);
        return { nodes, endLine: token.line, failed: false };
      }
      const [name, ...rest] = token.words;
      const base = {
        kind: "directive" as const,
        name: name!.text,
        args: rest.map((w) => w.text),
        words: token.words,
        file: this.file,
        line: token.line,
      };
      if (!token.opensBlock) {
        nodes.push({ ...base, block: null, endLine: token.line });
        continue;
      }
      const inner = this.block(true);
      nodes.push({ ...base, block: inner.nodes, endLine: inner.endLine });
      if (inner.failed) return { nodes, endLine: inner.endLine, failed: true };
    }
  }

  private error(problem: string, line: number): ConfigError {
    return new ConfigError(problem, { file: this.file, line, col: 0 });
  }

  /**
   * One directive's words up to its `;` or `{`, or a `}`, or the end of the file: the state
   * machine of ngx_conf_read_token, flag for flag.
   */
  private token(): Token {
    const src = this.src;
    const words: NginxWord[] = [];
    let found = false;
    let needSpace = false;
    let lastSpace = true;
    let sharpComment = false;
    let variable = false;
    let quoted = false;
    let sQuoted = false;
    let dQuoted = false;
    // Where the word being read starts. Like nginx's `start`, it moves on every character
    // read between words but not inside a comment, so a comment counts toward the limit.
    let start = this.pos;
    let startLine = this.line;

    for (;;) {
      if (this.pos >= src.length) {
        if (words.length > 0 || !lastSpace) {
          throw this.error(`unexpected end of file, expecting ";" or "}"`, this.line);
        }
        return { kind: "eof", line: this.line };
      }
      // nginx refills its 4096-byte buffer here; a pending word that fills it is too long.
      if (this.pos - start >= CONF_BUFFER) {
        if (dQuoted || sQuoted) {
          const q = dQuoted ? `"` : `'`;
          throw this.error(`too long parameter, probably missing terminating "${q}" character`, startLine);
        }
        const head = utf8.decode(src.subarray(start, start + 10));
        throw this.error(`too long parameter "${head}..." started`, startLine);
      }

      const ch = src[this.pos++]!;

      if (ch === LF) {
        this.line++;
        if (sharpComment) sharpComment = false;
      }
      if (sharpComment) continue;
      if (quoted) {
        quoted = false;
        continue;
      }

      if (needSpace) {
        if (isSpace(ch)) {
          lastSpace = true;
          needSpace = false;
          continue;
        }
        if (ch === SEMICOLON) return { kind: "directive", words, opensBlock: false, line: this.line };
        if (ch === LBRACE) return { kind: "directive", words, opensBlock: true, line: this.line };
        if (ch === RPAREN) {
          // nginx lets `)` follow a quoted word (for `if ($a = "b")` in http); the `)`
          // then starts the next word.
          lastSpace = true;
          needSpace = false;
        } else {
          throw this.error(`unexpected "${this.charAt(this.pos - 1)}"`, this.line);
        }
      }

      if (lastSpace) {
        start = this.pos - 1;
        startLine = this.line;
        if (isSpace(ch)) continue;
        switch (ch) {
          case SEMICOLON:
          case LBRACE:
            if (words.length === 0) throw this.error(`unexpected "${String.fromCharCode(ch)}"`, this.line);
            return { kind: "directive", words, opensBlock: ch === LBRACE, line: this.line };
          case RBRACE:
            if (words.length !== 0) throw this.error(`unexpected "}"`, this.line);
            return { kind: "close", line: this.line };
          case HASH:
            sharpComment = true;
            continue;
          case BACKSLASH:
            quoted = true;
            lastSpace = false;
            continue;
          case DQUOTE:
            start++;
            dQuoted = true;
            lastSpace = false;
            continue;
          case SQUOTE:
            start++;
            sQuoted = true;
            lastSpace = false;
            continue;
          case DOLLAR:
            variable = true;
            lastSpace = false;
            continue;
          default:
            lastSpace = false;
        }
        continue;
      }

      // Inside a word. A `{` right after `$` belongs to `${name}`, not to a block.
      if (ch === LBRACE && variable) continue;
      variable = false;
      if (ch === BACKSLASH) {
        quoted = true;
        continue;
      }
      if (ch === DOLLAR) {
        variable = true;
        continue;
      }
      if (dQuoted) {
        if (ch === DQUOTE) {
          dQuoted = false;
          needSpace = true;
          found = true;
        }
      } else if (sQuoted) {
        if (ch === SQUOTE) {
          sQuoted = false;
          needSpace = true;
          found = true;
        }
      } else if (isSpace(ch) || ch === SEMICOLON || ch === LBRACE) {
        lastSpace = true;
        found = true;
      }

      if (found) {
        words.push({ text: unescape(src, start, this.pos - 1), line: startLine });
        if (ch === SEMICOLON) return { kind: "directive", words, opensBlock: false, line: this.line };
        if (ch === LBRACE) return { kind: "directive", words, opensBlock: true, line: this.line };
        found = false;
      }
    }
  }

  /** The whole UTF-8 character starting at byte `i`, for messages (nginx prints the byte). */
  private charAt(i: number): string {
    let end = i + 1;
    while (end < this.src.length && (this.src[end]! & 0xc0) === 0x80) end++;
    return utf8.decode(this.src.subarray(i, end));
  }
}

/**
 * nginx's escapes: `\"`, `\'` and `\\` give the character; `\t`, `\r`, `\n` give control
 * characters; any other backslash stays, so regexes (`\d`) and `\x80` in `match` survive.
 */
function unescape(src: Uint8Array, start: number, end: number): string {
  if (src.subarray(start, end).indexOf(BACKSLASH) < 0) return utf8.decode(src.subarray(start, end));
  const out: number[] = [];
  for (let i = start; i < end;) {
    const ch = src[i]!;
    if (ch === BACKSLASH) {
      const next = src[i + 1];
      if (next === DQUOTE || next === SQUOTE || next === BACKSLASH) {
        out.push(next);
        i += 2;
        continue;
      }
      const control = next === 0x74 ? TAB : next === 0x72 ? CR : next === 0x6e ? LF : -1;
      if (control >= 0) {
        out.push(control);
        i += 2;
        continue;
      }
    }
    out.push(ch);
    i++;
  }
  return utf8.decode(Uint8Array.from(out));
}
