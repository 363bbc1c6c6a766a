// Hand-built PROXY protocol bytes for the parser tests and fuzzers, written from the
// protocol's layout (haproxy's proxy-protocol.txt), independently of the code under test.

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const V2_SIGNATURE = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Signature, version/command, family/transport, then `body` with its length in front. */
export function v2Header(versionCommand: number, familyTransport: number, body: Uint8Array): Uint8Array {
  return concat(V2_SIGNATURE, Uint8Array.from([versionCommand, familyTransport, body.length >> 8, body.length & 0xff]), body);
}

export function tlv(type: number, value: Uint8Array): Uint8Array {
  return concat(Uint8Array.from([type, value.length >> 8, value.length & 0xff]), value);
}

/** The SSL TLV's value: client flags, a 32-bit verify result, then sub-TLVs. */
export function sslTlvValue(client: number, verify: number, subTlvs: Uint8Array): Uint8Array {
  return concat(Uint8Array.from([client, verify >>> 24, (verify >>> 16) & 0xff, (verify >>> 8) & 0xff, verify & 0xff]), subTlvs);
}
