// Stream server_name (nginx 1.25.5+): which server block of a shared address a TLS client's
// name chooses (exact, wildcards, regexes in nginx's order), and the config's checks on names,
// default_server and shared addresses.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { sniHost } from "../../src/core/phases/ssl-sni.ts";
import { ServerNames } from "../../src/core/server-names.ts";

const F = "/etc/n.conf";
const read = (stream: string) => loadNginxConfig(`events {}\nstream {\n${stream}\n}\n`, F).config;
const errorOf = (stream: string): string => {
  try {
    read(stream);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return assert.fail("expected the config to be refused");
};

describe("server_name", () => {
  test("exact names first, then the longest leading wildcard, the longest trailing one, then regexes in order", () => {
    const names = new ServerNames<string>();
    // Our own table: each row checks one rule of nginx's order (exact, then the longest
    // leading wildcard, then the longest trailing one, then regexes as written).
    const written = [
      "chat.internal",
      "api.shop.test",
      "~^SHOP\\.TEST$",
      "~^(?P<tenant>[a-z0-9]+)\\.tenants\\.test$",
      "edge.shop.test",
      "*.shop.test",
      "*.zone.test",
      "*.eu.zone.test",
      "relay.zone.*",
      "relay.zone.test.*",
      ".cdn.test",
    ];
    for (const n of written) assert.ok(names.add(n, n), n);
    const cases: [string, string | null][] = [
      ["unknown", null],
      ["api.shop.test", "api.shop.test"],
      ["API.Shop.TEST", "api.shop.test"],
      ["web.shop.test", "*.shop.test"],
      ["shop.test", "~^SHOP\\.TEST$"],
      ["acme.tenants.test", "~^(?P<tenant>[a-z0-9]+)\\.tenants\\.test$"],
      ["node1.zone.test", "*.zone.test"],
      ["node1.eu.zone.test", "*.eu.zone.test"],
      ["relay.zone.io", "relay.zone.*"],
      ["relay.zone.test.local", "relay.zone.test.*"],
      ["img.cdn.test", ".cdn.test"],
      ["cdn.test", ".cdn.test"],
      ["", null],
    ];
    for (const [host, want] of cases) assert.equal(names.find(host), want, host);
    // The first server to name it keeps it.
    assert.equal(names.add("chat.internal", "second"), false);
    assert.equal(names.find("chat.internal"), "chat.internal");
  });

  test("an SNI name nginx would not look up is ignored", () => {
    assert.equal(sniHost("Virtual."), "virtual");
    for (const bad of ["", ".x", "a..b", "a/b", "a\\b"]) assert.equal(sniHost(bad), null, bad);
  });

  test("read from nginx.conf: names, default_server, and reject_handshake", () => {
    const c = read(`
server { listen 127.0.0.1:8443 ssl; server_name localhost Other.Test; ssl_reject_handshake on; return x; }
server { listen 127.0.0.1:8443 default_server; server_name ~^A\\.B$; return y; }
`);
    const [a, b] = c.stream.servers;
    assert.deepEqual(a!.serverNames, ["localhost", "other.test"]);
    assert.equal(a!.tls!.rejectHandshake, true);
    assert.deepEqual(b!.serverNames, ["~^A\\.B$"]);
    assert.equal(b!.listen[0]!.defaultServer, true);
  });

  test("bad names and addresses no server block could be chosen on are refused in nginx's words", () => {
    assert.equal(errorOf(`server { listen 1; server_name *x; return x; }`), `server name "*x" is invalid in ${F}:3`);
    assert.equal(errorOf(`server { listen 1; server_name .; return x; }`), `server name "." is invalid in ${F}:3`);
    assert.equal(errorOf(`server { listen 1; server_name ~; return x; }`), `empty regex in server name "~" in ${F}:3`);
    assert.match(errorOf(`server { listen 1; server_name ~(; return x; }`), /in server name "~\(" in \/etc\/n\.conf:3$/);
    assert.equal(
      errorOf(
        `server { listen 1 default_server; server_name a; return x; }\nserver { listen 1 default_server; server_name b; return y; }`,
      ),
      `a duplicate default server for *:1 in ${F}:4`,
    );
    // Two servers without a name on one address: the second could never be chosen.
    assert.equal(
      errorOf(`server { listen 1; return x; }\nserver { listen 1; return y; }`),
      `duplicate "*:1" address and port pair in ${F}:4`,
    );
  });
});
