// Which server setups Bun's native handshake takes (src/runtime/bun/tls-options.ts): exactly
// the options node:tls would be given that it knows; anything else goes to node:tls.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type tls from "node:tls";
import { alpnWire, nativeServerOptions } from "../../src/runtime/bun/tls-options.ts";

const native = { native: "context" };
const context = { context: native } as unknown as tls.SecureContext;
const base: tls.TLSSocketOptions = { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false };

describe("Bun's native TLS handshake options", () => {
  test("a setup it knows: the native context, the verify request, ALPN in wire form", () => {
    assert.deepEqual(nativeServerOptions(base), { secureContext: native, requestCert: false, rejectUnauthorized: false });
    const mtls = nativeServerOptions({ ...base, requestCert: true, ALPNProtocols: ["h2", "http/1.1"] });
    assert.equal(mtls?.["requestCert"], true);
    assert.deepEqual(mtls?.["ALPNProtocols"], alpnWire(["h2", "http/1.1"]));
  });

  test("anything it does not know goes to node:tls", () => {
    const sni = { ...base, SNICallback: () => {} } as tls.TLSSocketOptions;
    assert.equal(nativeServerOptions(sni), null, "a callback the native handshake would not call");
    assert.equal(nativeServerOptions({ ...base, isServer: false }), null, "a client handshake");
    assert.equal(nativeServerOptions({ ...base, secureContext: {} as tls.SecureContext }), null, "no native context");
    const bytes = { ...base, ALPNProtocols: new Uint8Array([2, 104, 50]) };
    assert.equal(nativeServerOptions(bytes), null, "ALPN already in wire form");
  });

  test("ALPN's wire form: each name after its length (RFC 7301, 3.1)", () => {
    const names = ["h2", "http/1.1", "x".repeat(255)];
    const wire = alpnWire(names);
    const read: string[] = [];
    for (let at = 0; at < wire.byteLength; at += 1 + wire[at]!) {
      read.push(new TextDecoder().decode(wire.subarray(at + 1, at + 1 + wire[at]!)));
    }
    assert.deepEqual(read, names);
    assert.equal(wire.byteLength, names.reduce((n, s) => n + 1 + s.length, 0));
  });
});
