// The `hash` key: text with nginx variables ($remote_addr:$remote_port, ${server_addr}x),
// compiled once and evaluated per session into a reused byte buffer, because nginx hashes
// the key's bytes and this runs on every accept.
import type { PickContext } from "./types.ts";

const VARIABLES = ["remote_addr", "remote_port", "server_addr", "server_port"] as const;
type Variable = (typeof VARIABLES)[number];

/** A literal (pre-encoded) or a variable; `null` is a regex capture ($1..$9), always empty here. */
type Part = Uint8Array | Variable | null;

/** A growable byte buffer the key is written into; one per picker, reused for every pick. */
export class KeyBuffer {
  bytes = new Uint8Array(128);
  length = 0;

  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  pushBytes(b: Uint8Array): void {
    this.room(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  /** Addresses are ASCII, so code units are the bytes; `from` skips a prefix without slicing. */
  pushAscii(text: string, from = 0): void {
    this.room(text.length - from);
    for (let i = from; i < text.length; i++) this.bytes[this.length++] = text.charCodeAt(i);
  }

  pushDecimal(value: number): void {
    this.room(16);
    let divisor = 1;
    while (divisor * 10 <= value) divisor *= 10;
    for (; divisor >= 1; divisor /= 10) this.bytes[this.length++] = 0x30 + (Math.floor(value / divisor) % 10);
  }
}

/** A config problem in a key, worded as nginx words it. */
export class HashKeyError extends Error {
  override readonly name = "HashKeyError";
}

export class HashKey {
  private constructor(
    readonly source: string,
    private readonly parts: readonly Part[],
  ) {}

  /** Compiles like ngx_stream_compile_complex_value; throws HashKeyError. */
  static compile(source: string): HashKey {
    const encoder = new TextEncoder();
    const parts: Part[] = [];
    let i = 0;
    while (i < source.length) {
      if (source[i] !== "$") {
        const next = source.indexOf("$", i);
        const end = next < 0 ? source.length : next;
        parts.push(encoder.encode(source.slice(i, end)));
        i = end;
        continue;
      }
      if (++i === source.length) throw new HashKeyError(`invalid variable name in "${source}"`);
      const c = source.charCodeAt(i);
      if (c >= 0x31 && c <= 0x39) {
        // $1..$9 are regex captures; nothing in a stream hash key sets them, so they are empty.
        parts.push(null);
        i++;
        continue;
      }
      const bracket = source[i] === "{";
      if (bracket && ++i === source.length) throw new HashKeyError(`invalid variable name in "${source}"`);
      const start = i;
      while (i < source.length && /[A-Za-z0-9_]/.test(source[i]!)) i++;
      const name = source.slice(start, i);
      if (bracket) {
        if (source[i] !== "}") throw new HashKeyError(`the closing bracket in "${name}" variable is missing`);
        i++;
      }
      if (!name) throw new HashKeyError(`invalid variable name in "${source}"`);
      if (!(VARIABLES as readonly string[]).includes(name)) {
        throw new HashKeyError(
          `unknown "${name}" variable: a hash key may use ${VARIABLES.map((v) => `$${v}`).join(", ")}`,
        );
      }
      parts.push(name as Variable);
    }
    return new HashKey(source, parts);
  }

  /** Writes the key's bytes for this connection into `out` (from its start). */
  evaluate(ctx: PickContext, out: KeyBuffer): void {
    out.length = 0;
    for (const part of this.parts) {
      if (part === null) continue;
      if (typeof part !== "string") {
        out.pushBytes(part);
        continue;
      }
      switch (part) {
        case "remote_addr":
          pushAddress(out, ctx.remoteAddress);
          break;
        case "remote_port":
          out.pushDecimal(ctx.remotePort);
          break;
        case "server_addr":
          pushAddress(out, ctx.serverAddress);
          break;
        case "server_port":
          out.pushDecimal(ctx.serverPort);
          break;
      }
    }
  }
}

/** The reason a key would not compile, or null: for config loaders to report with a location. */
export function hashKeyError(source: string): string | null {
  try {
    HashKey.compile(source);
    return null;
  } catch (err) {
    if (err instanceof HashKeyError) return err.message;
    throw err;
  }
}

/**
 * nginx listens IPv6-only on [::] (ipv6only=on), so it never sees IPv4-mapped peers; a
 * dual-stack socket here reports `::ffff:1.2.3.4`, which must hash as `1.2.3.4`.
 */
function pushAddress(out: KeyBuffer, address: string): void {
  const mapped =
    address.length > 7 && address.charCodeAt(0) === 0x3a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address);
  out.pushAscii(address, mapped ? 7 : 0);
}
