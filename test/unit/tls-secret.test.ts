// The master's per-generation TLS secret (tls-secret.ts): fresh each time, carried intact as
// hex, and the warning owed where a runtime's workers cannot share ticket keys.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import type { TlsSupport } from "../../src/core/runtime.ts";
import { newTlsSecret, ticketKeysWarning, tlsSecretBytes } from "../../src/core/tls-secret.ts";

const read = (stream: string) => loadNginxConfig(`events {}\nstream {\n${stream}\n}\n`, "/etc/streamlb.conf").config;
const PAIR = "ssl_certificate /c.pem; ssl_certificate_key /c.key;";

function support(ticketKeysUnshared: string | null): TlsSupport {
  return {
    library: "TestSSL",
    sni: true,
    cannot: () => null,
    ticketKeysUnshared,
    shareTicketKeys: () => {},
    serverContext: (o) => ({ verifyClient: o.verifyClient }),
    accept: () => Promise.reject(new Error("unused")),
    connect: () => Promise.reject(new Error("unused")),
  };
}

describe("TLS secret per config generation", () => {
  test("48 random bytes, new each generation, that survive the JSON channel", () => {
    const a = newTlsSecret();
    const b = newTlsSecret();
    assert.equal(a.type, "tls-secret");
    assert.notEqual(a.secret, b.secret, "a reload gets other keys");
    const bytes = tlsSecretBytes(JSON.parse(JSON.stringify(a)));
    assert.ok(bytes);
    assert.equal(bytes.length, 48);
    assert.equal([...bytes].map((x) => x.toString(16).padStart(2, "0")).join(""), a.secret);
  });

  test("a secret of the wrong form is not taken", () => {
    assert.equal(tlsSecretBytes({ type: "tls-secret", secret: "00".repeat(47) }), null);
    assert.equal(tlsSecretBytes({ type: "tls-secret", secret: "zz".repeat(48) }), null);
  });

  test("warns only where tickets run on several workers that cannot share keys", () => {
    const ssl = read(`server { listen 1 ssl; ${PAIR} proxy_pass 127.0.0.1:2; }`);
    const why = "its TLS makes its own keys";
    const warning = ticketKeysWarning(ssl, 2, "bun", support(why));
    assert.ok(warning);
    assert.match(warning, /not shared between the 2 worker processes on bun \(its TLS makes its own keys\)/);
    assert.equal(ticketKeysWarning(ssl, 1, "bun", support(why)), null, "one worker resumes all its tickets");
    assert.equal(ticketKeysWarning(ssl, 2, "node", support(null)), null, "keys are shared");
    const plain = read(`server { listen 1; proxy_pass 127.0.0.1:2; }`);
    assert.equal(ticketKeysWarning(plain, 2, "bun", support(why)), null, "no ssl listener");
    const off = read(`server { listen 1 ssl; ${PAIR} ssl_session_tickets off; proxy_pass 127.0.0.1:2; }`);
    assert.equal(ticketKeysWarning(off, 2, "bun", support(why)), null, "no tickets issued");
  });
});
