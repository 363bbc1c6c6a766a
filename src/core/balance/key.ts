// The `hash` key: text with nginx variables ($remote_addr:$remote_port, ${server_addr}x),
// compiled once and evaluated per session into a reused byte buffer, because nginx hashes
// the key's bytes and this runs on every accept.
import { type Piece, splitVariables, VariableSyntaxError } from "../variables/complex-value.ts";
import { BUILTIN_REGISTRY, VariableError, type VariableRegistry } from "../variables/registry.ts";
import type { PickContext } from "./types.ts";

/** The variables a key reads straight off the connection, without the session's variable slots. */
const DIRECT = ["remote_addr", "remote_port", "server_addr", "server_port"] as const;
type Direct = (typeof DIRECT)[number];

/**
 * Compiled once; tagged objects so evaluation is a switch with no lookups by name: literal
 * bytes, a direct address variable, any other variable by registry index, or a capture.
 */
type Part =
  | { readonly k: "bytes"; readonly bytes: Uint8Array }
  | { readonly k: "direct"; readonly name: Direct }
  | { readonly k: "index"; readonly index: number; readonly binary: boolean; readonly name: string }
  | { readonly k: "capture"; readonly n: number };

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

  /** Raw bytes carried one per char (binary variables such as $binary_remote_addr). */
  pushLatin1(text: string): void {
    this.room(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[this.length++] = text.charCodeAt(i) & 0xff;
  }

  /** Text as UTF-8, as nginx holds it; ASCII (the usual case) without an encoder. */
  pushText(text: string): void {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > 0x7f) {
        this.pushBytes(new TextEncoder().encode(text));
        return;
      }
    }
    this.pushAscii(text);
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

  /**
   * Compiles with the one `$variable` splitter (variables/complex-value.ts); any variable
   * `registry` knows is allowed. Throws HashKeyError in nginx's words.
   */
  static compile(source: string, registry: VariableRegistry = BUILTIN_REGISTRY): HashKey {
    const encoder = new TextEncoder();
    const parts: Part[] = [];
    let pieces: Piece[];
    try {
      pieces = splitVariables(source);
    } catch (err) {
      if (err instanceof VariableSyntaxError) throw new HashKeyError(err.message);
      throw err;
    }
    for (const p of pieces) {
      if ("text" in p) parts.push({ k: "bytes", bytes: encoder.encode(p.text) });
      else if ("capture" in p) parts.push({ k: "capture", n: p.capture });
      else {
        const lower = p.name.toLowerCase();
        if ((DIRECT as readonly string[]).includes(lower)) {
          parts.push({ k: "direct", name: lower as Direct });
          continue;
        }
        let index: number;
        try {
          index = registry.resolve(lower);
        } catch (err) {
          if (err instanceof VariableError) throw new HashKeyError(err.message);
          throw err;
        }
        parts.push({ k: "index", index, binary: registry.def(index).binary, name: lower });
      }
    }
    return new HashKey(source, parts);
  }

  /** The first part that needs the session's variable slots (`$name` or `$1`), or null. */
  slotVariable(): string | null {
    for (const p of this.parts) {
      if (p.k === "index") return `$${p.name}`;
      if (p.k === "capture") return `$${p.n}`;
    }
    return null;
  }

  /** Writes the key's bytes for this connection into `out` (from its start). */
  evaluate(ctx: PickContext, out: KeyBuffer): void {
    out.length = 0;
    for (const part of this.parts) {
      switch (part.k) {
        case "bytes":
          out.pushBytes(part.bytes);
          break;
        case "direct":
          pushDirect(out, ctx, part.name);
          break;
        case "index": {
          // A session without variable slots (nothing wired them) reads as nginx's "not found": "".
          const value = ctx.variables?.get(part.index) ?? "";
          if (part.binary) out.pushLatin1(value);
          else out.pushText(value);
          break;
        }
        case "capture": {
          out.pushText(ctx.variables?.captures?.[part.n] ?? "");
          break;
        }
      }
    }
  }
}

function pushDirect(out: KeyBuffer, ctx: PickContext, name: Direct): void {
  switch (name) {
    case "remote_addr":
      pushAddress(out, ctx.remoteAddress);
      break;
    case "remote_port":
      // nginx's $remote_port is empty for a port 0 (Unix sockets).
      if (ctx.remotePort !== 0) out.pushDecimal(ctx.remotePort);
      break;
    case "server_addr":
      pushAddress(out, ctx.serverAddress);
      break;
    case "server_port":
      if (ctx.serverPort !== 0) out.pushDecimal(ctx.serverPort);
      break;
  }
}

/**
 * The reason a key cannot be used, or null: for config loaders to report with a location.
 * Only the syntax is judged here: a map or geo later in the file may define the names, and
 * the whole config's variables are checked once it is read (stream-variables.ts), as nginx does.
 */
export function hashKeyError(source: string): string | null {
  try {
    splitVariables(source);
    return null;
  } catch (err) {
    if (err instanceof VariableSyntaxError) return err.message;
    throw err;
  }
}

/**
 * nginx listens IPv6-only on [::] (ipv6only=on), so it never sees IPv4-mapped peers; a
 * dual-stack socket here reports `::ffff:1.2.3.4`, which must hash as `1.2.3.4`.
 */
function pushAddress(out: KeyBuffer, address: string): void {
  const mapped = address.length > 7 && address.charCodeAt(0) === 0x3a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address);
  out.pushAscii(address, mapped ? 7 : 0);
}
