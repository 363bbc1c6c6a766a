// proxy_ssl_alpn (nginx 1.31): complex values read in both spellings, written back, and per
// session the protocols the upstream handshake offers, with empty and over-long values skipped.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { compileRouteTls } from "../../src/core/phases/ssl-setup.ts";
import type { ConnectTarget, Runtime, TlsSupport } from "../../src/core/runtime.ts";
import type { TlsClientOptions } from "../../src/core/runtime-tls.ts";
import { alpnProtocols, connectUpstreamTls } from "../../src/core/upstream-tls.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { memoryRuntime } from "../support/fake-runtime.ts";
import { variableContext } from "../support/variable-context.ts";

const F = "/etc/t.conf";
const read = (stream: string) => loadNginxConfig(`events {}\nstream {\n${stream}\n}\n`, F).config;
const errorOf = (load: () => unknown): string => {
  try {
    load();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return assert.fail("expected the config to be refused");
};

describe("proxy_ssl_alpn in the config", () => {
  test("read as written, inherited from stream{}, a server's own replacing it", () => {
    const c = read(`proxy_ssl on; proxy_ssl_alpn h2 http/1.1;
server { listen 1; proxy_pass 127.0.0.1:9; }
server { listen 2; proxy_pass 127.0.0.1:9; proxy_ssl_alpn $ssl_alpn_protocol v2; }`);
    assert.deepEqual(c.stream.servers[0]!.tls!.proxySslAlpn, ["h2", "http/1.1"]);
    assert.deepEqual(c.stream.servers[1]!.tls!.proxySslAlpn, ["$ssl_alpn_protocol", "v2"]);
  });

  test("a literal over 255 bytes is nginx's error; one with variables waits for its value", () => {
    assert.equal(
      errorOf(() => read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl_alpn ${"x".repeat(256)}; }`)),
      `"proxy_ssl_alpn" directive protocol too long in ${F}:3`,
    );
    const long = `${"x".repeat(256)}$server_port`;
    assert.deepEqual(
      read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl_alpn ${long}; }`).stream.servers[0]!.tls!.proxySslAlpn,
      [
        long,
      ],
    );
    assert.equal(
      errorOf(() => read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl_alpn a; proxy_ssl_alpn b; }`)),
      `"proxy_ssl_alpn" directive is duplicate in ${F}:3`,
    );
    assert.match(
      errorOf(() => read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl_alpn $nope; }`)),
      /^unknown "nope" variable/,
    );
  });

  test("YAML reads the same key, and both writers keep it", () => {
    const yaml = loadYamlConfig(
      `stream:\n  servers:\n    - listen: "1"\n      proxy_pass: "127.0.0.1:9"\n      proxy_ssl: true\n      proxy_ssl_alpn: [v1, "$server_port"]\n`,
      "t.yaml",
    );
    assert.deepEqual(yaml.stream.servers[0]!.tls!.proxySslAlpn, ["v1", "$server_port"]);
    assert.equal(
      errorOf(() =>
        loadYamlConfig(
          `stream:\n  servers:\n    - listen: "1"\n      proxy_pass: "127.0.0.1:9"\n      proxy_ssl_alpn: ${"y".repeat(256)}\n`,
          "t.yaml",
        )
      ),
      `"proxy_ssl_alpn" directive protocol too long in t.yaml:5:23`,
    );
    const nginx = read(`server { listen 1; proxy_ssl on; proxy_pass 127.0.0.1:9; proxy_ssl_alpn v1 $server_port; }`);
    assert.deepEqual(
      loadYamlConfig(writeYamlConfig(nginx), "back.yaml").stream.servers[0]!.tls!.proxySslAlpn,
      ["v1", "$server_port"],
    );
    assert.deepEqual(
      loadNginxConfig(writeNginxConfig(nginx), "back.conf").config.stream.servers[0]!.tls!.proxySslAlpn,
      ["v1", "$server_port"],
    );
  });

  test("values with variables are compiled per server and evaluated per session", () => {
    const config = read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_alpn p$server_port v2; }
server { listen 2; proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_alpn v2; }`);
    const compiled = compileStreamVariables(config.stream);
    const values = compiled.forServer(config.stream.servers[0]!).proxySslAlpn!;
    const session = new SessionVariables(compiled.registry, variableContext({ serverPort: 8443 }));
    assert.deepEqual(values.map((v) => v.evaluate(session)), ["p8443", "v2"]);
    // Literals only: nothing to evaluate per session, the setting is sent as written.
    assert.equal(compiled.forServer(config.stream.servers[1]!).proxySslAlpn ?? null, null);
  });
});

describe("the protocols the upstream handshake offers", () => {
  test("empty values and values over 255 bytes are skipped, the rest kept in order", () => {
    assert.deepEqual(alpnProtocols(["", "v1", "z".repeat(256), "z".repeat(255), "v2"]), ["v1", "z".repeat(255), "v2"]);
    // 255 bytes, not characters: a multi-byte character counts for its bytes.
    assert.deepEqual(alpnProtocols(["é".repeat(128)]), []);
    assert.deepEqual(alpnProtocols([]), []);
  });

  /** Connects through a TLS support that records the client options it was handed. */
  async function offered(settings: string, evaluated: readonly string[] | null): Promise<readonly string[] | undefined> {
    const asked: TlsClientOptions[] = [];
    const support: TlsSupport = {
      library: "TestSSL",
      sni: true,
      cannot: () => null,
      ticketKeysUnshared: null,
      shareTicketKeys: () => {},
      serverContext: () => ({ verifyClient: "off" }),
      accept: () => Promise.reject(new Error("unused")),
      connect: (_t: ConnectTarget, _o, tls) => {
        asked.push(tls!);
        return Promise.resolve({ connection: {} as never, facts: null });
      },
    };
    const runtime: Runtime = Object.assign(memoryRuntime(new Map()), { tls: support });
    const server = read(`server { listen 1; proxy_pass u; proxy_ssl on; ${settings} }
upstream u { server 127.0.0.1:9; }`).stream.servers[0]!;
    const tls = (await compileRouteTls(runtime, server, false))!;
    const peer = { address: "127.0.0.1:9", config: { host: "127.0.0.1", port: 9 } } as never;
    await connectUpstreamTls(tls, peer, { upstream: "u", sslName: null, listen: "0.0.0.0:1", alpn: evaluated }, {
      timeoutMs: 1000,
      noDelay: true,
      keepAlive: false,
    });
    return asked[0]!.alpn;
  }

  test("as written, or as evaluated for the session, minus what nginx skips", async () => {
    assert.deepEqual(await offered("proxy_ssl_alpn v2 v1;", null), ["v2", "v1"]);
    assert.deepEqual(await offered("proxy_ssl_alpn $ssl_alpn_protocol v2;", ["", "v2"]), ["v2"]);
    assert.deepEqual(await offered("proxy_ssl_alpn $ssl_alpn_protocol;", ["v1"]), ["v1"]);
    // None configured (or all skipped): no ALPN extension at all.
    assert.deepEqual(await offered("", null), []);
    assert.deepEqual(await offered("proxy_ssl_alpn $ssl_alpn_protocol;", [""]), []);
  });
});
