// The YAML spelling of TLS: nginx's directive names as keys, the same merge and checks as
// nginx.conf, and every mistake refused with the file and line.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { DEFAULT_TLS } from "../../src/core/config/tls-config.ts";

const F = "tls.yaml";

function errorOf(text: string): ConfigError {
  try {
    loadYamlConfig(text, F);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the config to be rejected");
}

/** A server (with `extra` lines at its level) terminating TLS with one pair. */
const terminating = (extra = "") => `
stream:
  servers:
    - listen: "127.0.0.1:8443 ssl"
      proxy_pass: "127.0.0.1:9000"
      ssl_certificate: a.pem
      ssl_certificate_key: a.key
${extra}`;

describe("YAML TLS", () => {
  test("a terminating server reads as the same nginx.conf would", () => {
    const yaml = loadYamlConfig(
      terminating(`      ssl_protocols: [TLSv1.3]
      ssl_session_timeout: 10m
      ssl_alpn: h2 http/1.1
      ssl_verify_client: optional_no_ca
`),
      F,
    ).stream.servers[0]!;
    const nginx = loadNginxConfig(
      `events {}\nstream { server { listen 127.0.0.1:8443 ssl; proxy_pass 127.0.0.1:9000; ssl_certificate a.pem;
       ssl_certificate_key a.key; ssl_protocols TLSv1.3; ssl_session_timeout 10m; ssl_alpn h2 http/1.1;
       ssl_verify_client optional_no_ca; } }\n`,
      "x.conf",
    ).config.stream.servers[0]!;
    assert.deepEqual(yaml.tls, nginx.tls);
    assert.equal(yaml.listen[0]!.ssl, true);
    assert.deepEqual(yaml.tls!.certificates, [{ cert: "a.pem", key: "a.key" }]);
    assert.equal(yaml.tls!.sessionTimeoutMs, 600_000);
  });

  test("stream-level keys are inherited, a server's own win, certificate lists as a whole", () => {
    const c = loadYamlConfig(
      `
stream:
  ssl_certificate: [rsa.pem, ecdsa.pem]
  ssl_certificate_key: [rsa.key, ecdsa.key]
  ssl_ciphers: HIGH
  proxy_ssl: on
  servers:
    - { listen: "1 ssl", proxy_pass: "127.0.0.1:1" }
    - { listen: "2 ssl", proxy_pass: "127.0.0.1:1", ssl_certificate: b.pem, ssl_certificate_key: b.key, proxy_ssl: false }
`,
      F,
    );
    const [a, b] = c.stream.servers.map((s) => s.tls!);
    assert.deepEqual(a!.certificates.map((x) => x.cert), ["rsa.pem", "ecdsa.pem"]);
    assert.deepEqual(b!.certificates, [{ cert: "b.pem", key: "b.key" }]);
    assert.equal(a!.ciphers, "HIGH");
    assert.equal(b!.ciphers, "HIGH");
    assert.equal(a!.proxySsl, true);
    assert.equal(b!.proxySsl, false);
  });

  test("a server without TLS keys or an ssl listener has no TLS settings", () => {
    const c = loadYamlConfig(`stream:\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:1" }\n`, F);
    assert.equal(c.stream.servers[0]!.tls, undefined);
    assert.notEqual(DEFAULT_TLS.proxySsl, true, "proxy_ssl is off unless asked");
  });

  test("server_name and default_server", () => {
    const c = loadYamlConfig(
      terminating(`      server_name: [Example.COM, "*.example.org"]
    - { listen: "127.0.0.1:8443 ssl default_server", ssl_reject_handshake: true, return: "" }
`),
      F,
    );
    assert.deepEqual(c.stream.servers[0]!.serverNames, ["example.com", "*.example.org"]);
    assert.equal(c.stream.servers[1]!.listen[0]!.defaultServer, true);
    assert.equal(c.stream.servers[1]!.tls!.rejectHandshake, true);
  });

  test("a misspelled TLS key is refused with its file, line and column", () => {
    const e = errorOf(terminating(`      ssl_ciphres: HIGH\n`));
    assert.match(e.message, /^unknown key "ssl_ciphres" in stream\.servers\[0\]/);
    assert.deepEqual([e.loc?.file, e.loc?.line, e.loc?.col], [F, 8, 7]);
  });

  test("bad values are refused at their line", () => {
    const cases: Array<[string, RegExp]> = [
      [`      ssl_protocols: [TLSv1.2, TLSv9]\n`, /^invalid ssl_protocols "TLSv9"/],
      [`      ssl_verify_client: maybe\n`, /^invalid ssl_verify_client "maybe": it must be "on", "off"/],
      [`      ssl_session_cache: "shared:SSL:1k"\n`, /^session cache "shared:SSL:1k" is too small/],
      [`      ssl_session_cache: lots\n`, /^invalid session cache "lots"/],
      [`      ssl_session_timeout: soon\n`, /^invalid ssl_session_timeout "soon"/],
      [`      ssl_verify_depth: -1\n`, /^invalid ssl_verify_depth "-1"/],
      [`      proxy_ssl: maybe\n`, /^invalid proxy_ssl "maybe"/],
      [`      ssl_client_certificate: "$host.pem"\n`, /^"ssl_client_certificate" with variables is not supported yet/],
      [`      ssl_alpn: []\n`, /^ssl_alpn needs at least one value/],
    ];
    for (const [extra, want] of cases) {
      const e = errorOf(terminating(extra));
      assert.match(e.problem, want, extra);
      assert.equal(e.loc?.line, 8, extra);
    }
  });

  test("nginx's merge checks name the server when no key is at fault", () => {
    const noCert = errorOf(`stream:\n  servers:\n    - { listen: "1 ssl", proxy_pass: "127.0.0.1:1" }\n`);
    assert.match(noCert.message, /^no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in tls\.yaml:3/);
    const noKey = errorOf(terminating().replace("      ssl_certificate_key: a.key\n", ""));
    assert.match(noKey.message, /^no "ssl_certificate_key" is defined for certificate "a\.pem" in tls\.yaml:4/);
    const verify = errorOf(
      `stream:\n  servers:\n    - { listen: 1, proxy_pass: "127.0.0.1:1", proxy_ssl: on, proxy_ssl_verify: on }\n`,
    );
    assert.match(verify.message, /^no proxy_ssl_trusted_certificate for proxy_ssl_verify in tls\.yaml:3/);
  });

  test("listen ssl with udp is refused as nginx refuses it", () => {
    const e = errorOf(`stream:\n  servers:\n    - { listen: "53 udp ssl", proxy_pass: "127.0.0.1:1" }\n`);
    assert.match(e.message, /^"listen" directive "ssl" parameter is incompatible with "udp" in tls\.yaml:3/);
  });
});
