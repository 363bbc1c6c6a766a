// Hand-built TLS ClientHellos for the ssl_preread parser's tests and fuzzers, from RFC 8446's
// layout, independently of the code under test.
import { concat } from "./proxy-protocol-bytes.ts";

const u16 = (n: number) => Uint8Array.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Uint8Array.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function extension(type: number, data: Uint8Array): Uint8Array {
  return concat(u16(type), u16(data.length), data);
}

export function sniExtension(...names: string[]): Uint8Array {
  const list = concat(...names.map((n) => concat(Uint8Array.of(0), u16(n.length), bytes(n))));
  return extension(0, concat(u16(list.length), list));
}

export function alpnExtension(...protocols: string[]): Uint8Array {
  const list = concat(...protocols.map((p) => concat(Uint8Array.of(p.length), bytes(p))));
  return extension(16, concat(u16(list.length), list));
}

export function supportedVersionsExtension(...versions: number[]): Uint8Array {
  const list = concat(...versions.map(u16));
  return extension(43, concat(Uint8Array.of(list.length), list));
}

/** The handshake message: type 1, 24-bit length, version, random, session id, suites, methods, extensions. */
export function clientHelloMessage(
  options: { version?: number; sessionId?: number; extensions?: Uint8Array[]; noExtensionBlock?: boolean } = {},
): Uint8Array {
  const exts = concat(...(options.extensions ?? []));
  const body = concat(
    u16(options.version ?? 0x0303),
    new Uint8Array(32).fill(0xab),
    Uint8Array.of(options.sessionId ?? 0),
    new Uint8Array(options.sessionId ?? 0).fill(0xcd),
    u16(4),
    Uint8Array.of(0x13, 0x01, 0xc0, 0x2f),
    Uint8Array.of(1, 0),
    options.noExtensionBlock ? new Uint8Array(0) : concat(u16(exts.length), exts),
  );
  return concat(Uint8Array.of(1), u24(body.length), body);
}

/** The message cut into TLS handshake records of at most `recordSize` bytes each. */
export function records(message: Uint8Array, recordSize = 16384, recordVersion = 0x0301): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < message.length; at += recordSize) {
    const frag = message.subarray(at, Math.min(at + recordSize, message.length));
    parts.push(concat(Uint8Array.of(0x16), u16(recordVersion), u16(frag.length), frag));
  }
  return concat(...parts);
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
