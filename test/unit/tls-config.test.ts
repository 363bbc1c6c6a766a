// The TLS directives (issue 15): read with nginx's values, merge and messages; compiled per
// config with every failure naming its file and a runtime's limits named; and the ssl phase's
// verdicts on peer certificates in nginx's words.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import type { ServerConfig } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { DEFAULT_TLS } from "../../src/core/config/tls-config.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { clientVerifyError, upstreamVerifyError, x509Error } from "../../src/core/phases/ssl.ts";
import { compileRouteTls } from "../../src/core/phases/ssl-setup.ts";
import { sslVariable } from "../../src/core/phases/ssl-variables.ts";
import type { Runtime, TlsSupport } from "../../src/core/runtime.ts";
import type { TlsFacts, TlsServerOptions } from "../../src/core/runtime-tls.ts";
import { memoryRuntime } from "../support/fake-runtime.ts";
import { variableContext } from "../support/variable-context.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";

const F = "/etc/t.conf";
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
const server = (stream: string, i = 0): ServerConfig => read(stream).stream.servers[i]!;

describe("TLS directives in nginx.conf", () => {
  test("listen … ssl with certificate pairs, in order, inherited from stream{} as a whole", () => {
    const s = server(`
ssl_certificate rsa.pem; ssl_certificate_key rsa.key;
ssl_certificate ec.pem; ssl_certificate_key ec.key;
server { listen 127.0.0.1:8443 ssl; proxy_pass 127.0.0.1:1; }
server { listen 127.0.0.1:8444 ssl; ssl_certificate own.pem; ssl_certificate_key own.key; proxy_pass 127.0.0.1:1; }`);
    assert.equal(s.listen[0]!.ssl, true);
    assert.deepEqual(s.tls!.certificates, [{ cert: "rsa.pem", key: "rsa.key" }, { cert: "ec.pem", key: "ec.key" }]);
    const own = read(`ssl_certificate rsa.pem; ssl_certificate_key rsa.key;
server { listen 1 ssl; ssl_certificate own.pem; ssl_certificate_key own.key; proxy_pass 127.0.0.1:1; }`).stream.servers[0]!;
    assert.deepEqual(own.tls!.certificates, [{ cert: "own.pem", key: "own.key" }]);
  });

  test("nginx's defaults where nothing is written, the server's value over stream{}'s", () => {
    const s = server(`ssl_protocols TLSv1.3; ssl_handshake_timeout 5s; proxy_ssl on;
server { listen 1; ssl_handshake_timeout 300ms; proxy_ssl_verify off; proxy_pass 127.0.0.1:1; }`);
    assert.deepEqual(s.tls!.protocols, ["TLSv1.3"]);
    assert.equal(s.tls!.handshakeTimeoutMs, 300);
    assert.equal(s.tls!.proxySsl, true);
    assert.equal(s.tls!.sessionTimeoutMs, DEFAULT_TLS.sessionTimeoutMs);
    assert.equal(s.tls!.ciphers, "HIGH:!aNULL:!MD5");
    assert.equal(s.tls!.proxySslSessionReuse, true);
  });

  test("a server without any TLS reads without a tls part (as from YAML)", () => {
    assert.equal(server(`server { listen 1; proxy_pass 127.0.0.1:1; }`).tls, undefined);
  });

  test("nginx's messages for what the merge finds missing", () => {
    assert.equal(
      errorOf(`server {\nlisten 1 ssl;\nproxy_pass 127.0.0.1:1; }`),
      `no "ssl_certificate" is defined for the "listen ... ssl" directive in ${F}:4`,
    );
    assert.equal(
      errorOf(
        `server { listen 1 ssl; ssl_certificate a.pem; ssl_certificate b.pem; ssl_certificate_key a.key; proxy_pass 127.0.0.1:1; }`,
      ),
      `no "ssl_certificate_key" is defined for certificate "b.pem"`,
    );
    assert.equal(
      errorOf(
        `server { listen 1 ssl; ssl_certificate a.pem; ssl_certificate_key a.key; ssl_verify_client on; proxy_pass 127.0.0.1:1; }`,
      ),
      `no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client`,
    );
    assert.equal(
      errorOf(`server { listen 1; proxy_ssl on; proxy_ssl_verify on; proxy_pass 127.0.0.1:1; }`),
      `no proxy_ssl_trusted_certificate for proxy_ssl_verify`,
    );
    assert.equal(
      errorOf(`server { listen 1; proxy_ssl on; proxy_ssl_certificate c.pem; proxy_pass 127.0.0.1:1; }`),
      `no "proxy_ssl_certificate_key" is defined for certificate "c.pem"`,
    );
    // optional_no_ca needs no CA.
    assert.equal(
      server(
        `server { listen 1 ssl; ssl_certificate a.pem; ssl_certificate_key a.key; ssl_verify_client optional_no_ca; proxy_pass 127.0.0.1:1; }`,
      )
        .tls!.verifyClient,
      "optional_no_ca",
    );
  });

  test("bad values are refused with nginx's words and place", () => {
    assert.equal(errorOf(`ssl_protocols TLSv1.2 TLSv9;`), `invalid value "TLSv9" in ${F}:3`);
    assert.equal(errorOf(`ssl_session_cache shared:SSL:1k;`), `session cache "shared:SSL:1k" is too small in ${F}:3`);
    assert.equal(errorOf(`ssl_session_cache bogus;`), `invalid session cache "bogus" in ${F}:3`);
    assert.equal(errorOf(`ssl_alpn ${"x".repeat(256)};`), `"ssl_alpn" directive protocol too long in ${F}:3`);
    assert.match(errorOf(`ssl_verify_client maybe;`), /^invalid value "maybe" in "ssl_verify_client" directive/);
    assert.equal(errorOf(`ssl_handshake_timeout soon;`), `"ssl_handshake_timeout" directive invalid value in ${F}:3`);
  });

  test("proxy_ssl_name with variables is evaluated per session; an unknown variable is nginx's error", () => {
    const config = read(`server { listen 1; listen 2; proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_name x\${server_port}x; }`);
    const compiled = compileStreamVariables(config.stream);
    const vars = compiled.forServer(config.stream.servers[0]!);
    const name = (port: number) =>
      vars.proxySslName!.evaluate(new SessionVariables(compiled.registry, variableContext({ serverPort: port })));
    assert.equal(name(8081), "x8081x");
    assert.equal(name(8082), "x8082x");
    assert.equal(
      read(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_name plain; }`).stream.servers[0]!.tls!
        .proxySslName,
      "plain",
    );
    assert.match(
      errorOf(`server { listen 1; proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_name $nope; }`),
      /^unknown "nope" variable/,
    );
  });

  test("what streamlb does not run yet is refused, never ignored", () => {
    assert.equal(
      errorOf(`proxy_ssl_certificate $ssl_server_name.pem;`),
      `"proxy_ssl_certificate" with variables is not supported yet in ${F}:3`,
    );
    assert.equal(errorOf(`ssl_stapling on;`), `"ssl_stapling" directive is not supported yet in ${F}:3`);
    assert.equal(errorOf(`ssl_conf_command Options X;`), `"ssl_conf_command" directive is not supported yet in ${F}:3`);
    // yaoweibin's tcp{} ssl has other directives; it stays refused.
    assert.throws(
      () => loadNginxConfig(`events {}\ntcp {\nserver { listen 1 ssl; proxy_pass 127.0.0.1:1; }\n}\n`, F),
      /the "ssl" parameter of "listen" is not supported yet/,
    );
  });

  test("convert keeps proxy_ssl rather than writing a config that proxies in cleartext", () => {
    const config = read(`server { listen 1; proxy_ssl on; proxy_pass 127.0.0.1:1; }`);
    assert.match(writeYamlConfig(config), /^ {6}proxy_ssl: true$/m);
  });
});

/** A runtime with files in memory and a TLS that records what it was asked. */
function tlsRuntime(
  files: Record<string, string>,
  cannot: string | null = null,
): { runtime: Runtime; asked: TlsServerOptions[] } {
  const asked: TlsServerOptions[] = [];
  const support: TlsSupport = {
    library: "TestSSL",
    sni: true,
    cannot: () => cannot,
    ticketKeysUnshared: null,
    shareTicketKeys: () => {},
    serverContext: (o) => {
      asked.push(o);
      return { verifyClient: o.verifyClient };
    },
    accept: () => Promise.reject(new Error("unused")),
    connect: () => Promise.reject(new Error("unused")),
  };
  return { runtime: Object.assign(memoryRuntime(new Map(Object.entries(files))), { tls: support }), asked };
}

describe("compiling a server's TLS", () => {
  const tlsServer = (extra = "") =>
    server(`server { listen 1 ssl; ssl_certificate /c.pem; ssl_certificate_key /c.key; ${extra} proxy_pass 127.0.0.1:1; }`);

  test("reads the files and hands their text to the runtime", async () => {
    const { runtime, asked } = tlsRuntime({ "/c.pem": "CERT", "/c.key": "KEY", "/ca.pem": "CA", "/pw": "one\ntwo\n" });
    const route = await compileRouteTls(
      runtime,
      tlsServer("ssl_verify_client on; ssl_client_certificate /ca.pem; ssl_password_file /pw;"),
      true,
    );
    assert.ok(route?.server);
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]!.pairs, [{ cert: "CERT", key: "KEY", certPath: "/c.pem", keyPath: "/c.key" }]);
    assert.equal(asked[0]!.ca, "CA");
    assert.deepEqual(asked[0]!.passwords, ["one", "two"]);
  });

  test("a missing file is named as nginx names it", async () => {
    const { runtime } = tlsRuntime({ "/c.pem": "CERT" });
    await assert.rejects(
      compileRouteTls(runtime, tlsServer(), true),
      { message: `cannot load certificate key "/c.key": BIO_new_file() failed (2: No such file or directory)` },
    );
  });

  test("what the runtime cannot honour is refused naming the runtime and its library", async () => {
    const { runtime } = tlsRuntime({ "/c.pem": "CERT", "/c.key": "KEY" }, `"ssl_ciphers RC4"`);
    await assert.rejects(compileRouteTls(runtime, tlsServer(), true), {
      message: `"ssl_ciphers RC4" cannot be honoured on node (TestSSL)`,
    });
  });

  test("a runtime without TLS refuses ssl and proxy_ssl", async () => {
    const runtime = memoryRuntime(new Map([["/c.pem", "C"], ["/c.key", "K"]]));
    await assert.rejects(compileRouteTls(runtime, tlsServer(), true), /"listen \.\.\. ssl" is not supported on node/);
    const proxy = server(`server { listen 1; proxy_ssl on; proxy_pass 127.0.0.1:1; }`);
    await assert.rejects(compileRouteTls(runtime, proxy, false), /"proxy_ssl" is not supported on node/);
  });

  test("plain both ways needs no TLS at all", async () => {
    assert.equal(
      await compileRouteTls(memoryRuntime(new Map()), server(`server { listen 1; proxy_pass 127.0.0.1:1; }`), false),
      null,
    );
  });
});

const facts = (o: Partial<TlsFacts> & { cert?: boolean; name?: string }): TlsFacts => ({
  protocol: "TLSv1.3",
  cipher: "TLS_AES_256_GCM_SHA384",
  serverName: "",
  alpnProtocol: "",
  sessionReused: false,
  sessionId: "",
  verifyError: null,
  chainDepth: 1,
  peerCert: o.cert === false ? null : {
    subject: "CN=client",
    issuer: "CN=ca",
    serial: "01",
    fingerprint: "ab",
    pem: "",
    validFrom: "",
    validTo: "",
    matches: (n) => n === (o.name ?? "localhost"),
  },
  ...o,
});

describe("the ssl phase's verdicts", () => {
  test("client certificates: nginx's messages, and what optional and optional_no_ca let through", () => {
    assert.equal(clientVerifyError(facts({}), "on", 1), null);
    assert.equal(clientVerifyError(facts({ cert: false }), "on", 1), "client sent no required SSL certificate");
    assert.equal(clientVerifyError(facts({ cert: false }), "optional", 1), null);
    const selfSigned = facts({ verifyError: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    assert.equal(
      clientVerifyError(selfSigned, "optional", 1),
      "client SSL certificate verify error: (18:self-signed certificate)",
    );
    assert.equal(clientVerifyError(selfSigned, "optional_no_ca", 1), null);
    const expired = facts({ verifyError: "CERT_HAS_EXPIRED" });
    assert.equal(
      clientVerifyError(expired, "optional_no_ca", 1),
      "client SSL certificate verify error: (10:certificate has expired)",
    );
    assert.equal(
      clientVerifyError(facts({ chainDepth: 2 }), "on", 1),
      "client SSL certificate verify error: (22:certificate chain too long)",
    );
    assert.equal(clientVerifyError(facts({ chainDepth: 2 }), "on", 2), null);
  });

  test("upstream certificates: the chain, then the name", () => {
    assert.equal(upstreamVerifyError(facts({}), "localhost", 1), null);
    assert.equal(upstreamVerifyError(facts({}), "other.test", 1), `upstream SSL certificate does not match "other.test"`);
    assert.equal(
      upstreamVerifyError(facts({ verifyError: "CERT_HAS_EXPIRED" }), "localhost", 1),
      "upstream SSL certificate verify error: (10:certificate has expired)",
    );
    assert.equal(
      upstreamVerifyError(facts({ cert: false }), "localhost", 1),
      "upstream SSL certificate verify error: (20:unable to get local issuer certificate)",
    );
  });

  test("an error code OpenSSL's table lacks still reads as one", () => {
    assert.equal(x509Error("SOMETHING_NEW"), "0:SOMETHING_NEW");
  });
});

describe("$ssl_* variables", () => {
  const now = Date.parse("2026-12-01T00:00:00Z");
  test("not found on plain TCP", () => {
    assert.equal(sslVariable(null, "protocol", now), null);
  });
  test("the handshake's facts in nginx's forms", () => {
    const f = facts({ serverName: "term.test", alpnProtocol: "bar", sessionReused: true });
    assert.equal(sslVariable(f, "protocol", now), "TLSv1.3");
    assert.equal(sslVariable(f, "cipher", now), "TLS_AES_256_GCM_SHA384");
    assert.equal(sslVariable(f, "server_name", now), "term.test");
    assert.equal(sslVariable(f, "alpn_protocol", now), "bar");
    assert.equal(sslVariable(f, "session_reused", now), "r");
    assert.equal(sslVariable(facts({}), "session_reused", now), ".");
    // What the runtime does not tell is not found, never made up.
    assert.equal(sslVariable(f, "curves", now), null);
  });
  test("client certificates: verdict, names and validity", () => {
    assert.equal(sslVariable(facts({ cert: false }), "client_verify", now), "NONE");
    assert.equal(sslVariable(facts({ cert: false }), "client_s_dn", now), "");
    assert.equal(sslVariable(facts({}), "client_verify", now), "SUCCESS");
    assert.equal(sslVariable(facts({ verifyError: "CERT_HAS_EXPIRED" }), "client_verify", now), "FAILED:certificate has expired");
    const f = facts({});
    assert.equal(sslVariable(f, "client_s_dn", now), "CN=client");
    assert.equal(sslVariable(f, "client_i_dn", now), "CN=ca");
    const dated = facts({
      peerCert: {
        ...f.peerCert!,
        pem: "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
        validTo: "Dec 11 00:00:00 2026 GMT",
      },
    });
    assert.equal(sslVariable(dated, "client_v_remain", now), "10");
    assert.equal(sslVariable(dated, "client_cert", now), "-----BEGIN CERTIFICATE-----\n\tAA\n\t-----END CERTIFICATE-----\n");
    assert.equal(
      sslVariable(dated, "client_escaped_cert", now),
      "-----BEGIN%20CERTIFICATE-----%0AAA%0A-----END%20CERTIFICATE-----%0A",
    );
  });
});
