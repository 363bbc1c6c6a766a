// What the YAML and nginx spellings of a health check share: NGINX Plus's `match` text (bytes
// with `\xNN` escapes), the regular expressions `expect ~` takes, and how both are written back
// so that `streamlb convert` reads them in again as the same bytes.
import type { HealthCheckConfig, HealthExpect } from "../model.ts";

const utf8 = new TextEncoder();

/**
 * `send`/`expect` text as NGINX Plus's match module reads it: `\xNN` (two hex digits) is that
 * byte, every other character is its UTF-8 bytes (nginx.conf is bytes; ours arrives decoded).
 * Returns the bytes one character per byte, the form the model keeps.
 */
export function decodeMatchText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && text[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c < 0x80) {
      out += text[i];
    } else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of utf8.encode(String.fromCodePoint(cp))) out += String.fromCharCode(b);
    }
  }
  return out;
}

/** A byte string (one character per byte) as the bytes it stands for. */
export function bytesOf(byteString: string): Uint8Array {
  const out = new Uint8Array(byteString.length);
  for (let i = 0; i < byteString.length; i++) out[i] = byteString.charCodeAt(i);
  return out;
}

/**
 * A regular expression as written (nginx `expect ~ "..."`, YAML `regex:`) turned into one
 * that runs on a reply whose bytes are characters 0-255: PCRE without UTF mode matches bytes,
 * so a non-ASCII character in the pattern stands for its UTF-8 bytes there too.
 */
export function byteRegex(pattern: string, caseless: boolean): RegExp {
  return new RegExp(decodeNonAscii(pattern), caseless ? "i" : "");
}

/** Why a pattern cannot be used, or null when it compiles. */
export function regexError(pattern: string): string | null {
  try {
    byteRegex(pattern, false);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function decodeNonAscii(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are exactly what this looks for
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let out = "";
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) out += ch;
    else for (const b of utf8.encode(ch)) out += String.fromCharCode(b);
  }
  return out;
}

/**
 * Bytes as the inside of a double-quoted string. `\r`, `\n`, `\t` and `\"` are escapes
 * both nginx's tokenizer and YAML know; every other byte that is not printable ASCII, and
 * the backslash itself, is `\xNN` for the match decoder. `backslash` is how a literal
 * backslash is spelled in the quoting at hand: YAML needs `\\` to keep one.
 */
function quoteBytes(bytes: string, backslash: string): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c === 0x0d) out += "\\r";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x22) out += '\\"';
    else if (c >= 0x20 && c < 0x7f && c !== 0x5c) out += bytes[i];
    else out += `${backslash}x${c.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

/** Bytes as one nginx word that the nginx reader (and NGINX Plus) read back as the same bytes. */
export function nginxMatchWord(bytes: string): string {
  return quoteBytes(bytes, "\\");
}

/** Bytes as a YAML double-quoted scalar that the YAML reader reads back as the same bytes. */
export function yamlMatchScalar(bytes: string): string {
  return quoteBytes(bytes, "\\\\");
}

/** yaoweibin's `check_http_expect_alive` words (http_2xx ...) as one status-line pattern. */
export function httpAliveRegex(classes: readonly string[]): string {
  const digits = [...new Set(classes.map((c) => c.charAt(5)))].sort().join("");
  return `^HTTP/[0-9.]+ [${digits}][0-9][0-9]`;
}

/** Two checks are one when every setting is the same (several health_check lines, one group). */
export function sameHealthCheck(a: HealthCheckConfig, b: HealthCheckConfig): boolean {
  return (
    a.intervalMs === b.intervalMs &&
    a.jitterMs === b.jitterMs &&
    a.timeoutMs === b.timeoutMs &&
    a.fails === b.fails &&
    a.passes === b.passes &&
    a.port === b.port &&
    a.mandatory === b.mandatory &&
    a.persistent === b.persistent &&
    a.udp === b.udp &&
    a.send === b.send &&
    sameExpect(a.expect, b.expect)
  );
}

function sameExpect(a: HealthExpect | null, b: HealthExpect | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind === "bytes") return b.kind === "bytes" && a.bytes === b.bytes;
  return b.kind === "regex" && a.pattern === b.pattern && a.caseless === b.caseless;
}
