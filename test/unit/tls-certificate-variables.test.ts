// Issue 15's last two TLS items at config and core level: variables (and `data:` PEM) in
// ssl_certificate/ssl_certificate_key, evaluated per handshake, and ssl_session_ticket_key
// files, read and checked as nginx does, refused naming the runtime where it cannot run them.
// The handshakes themselves are in test/e2e/tls-certificate-variables.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import type { ServerConfig } from "../../src/core/config/model.ts";
import { prefixPaths } from "../../src/core/config/prefix-paths.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { HandshakeCertificates } from "../../src/core/phases/ssl-certificates.ts";
import { compileRouteTls } from "../../src/core/phases/ssl-setup.ts";
import type { Runtime, TlsSupport } from "../../src/core/runtime.ts";
import { TlsConfigError, type TlsServerContext, type TlsServerOptions } from "../../src/core/runtime-tls.ts";
import { SessionVariables } from "../../src/core/variables/session-variables.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";
import { memoryRuntime } from "../support/fake-runtime.ts";
import { variableContext } from "../support/variable-context.ts";

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

const VARIABLE = `
map $ssl_server_name $name { default $ssl_server_name; "" fallback; }
server { listen 1 ssl; ssl_certificate $name.crt; ssl_certificate_key $name.key;
         ssl_certificate ec.crt; ssl_certificate_key ec.key; return ok; }`;

describe("variables in ssl_certificate and ssl_certificate_key", () => {
  test("are read as written, every pair compiled once any has a variable", () => {
    const config = read(VARIABLE);
    const server = config.stream.servers[0]!;
    assert.deepEqual(server.tls!.certificates, [{ cert: "$name.crt", key: "$name.key" }, { cert: "ec.crt", key: "ec.key" }]);
    const compiled = compileStreamVariables(config.stream);
    const pairs = compiled.forServer(server).certificates!;
    assert.equal(pairs.length, 2);
    const at = (name: string) =>
      new SessionVariables(compiled.registry, variableContext({ ssl: (n) => (n === "server_name" ? name : null) }));
    assert.equal(pairs[0]!.cert.evaluate(at("one.test")), "one.test.crt");
    assert.equal(pairs[0]!.key.evaluate(at("")), "fallback.key");
    assert.equal(pairs[1]!.cert.evaluate(at("x")), "ec.crt");
    // Without variables nothing is compiled: the pairs load once, at start.
    const plain = read(`server { listen 1 ssl; ssl_certificate a.crt; ssl_certificate_key a.key; return ok; }`);
    assert.equal(compileStreamVariables(plain.stream).forServer(plain.stream.servers[0]!).certificates ?? null, null);
  });

  test("an unknown variable is nginx's error; YAML reads the same", () => {
    assert.match(
      errorOf(`server { listen 1 ssl; ssl_certificate $nope.crt; ssl_certificate_key k; return ok; }`),
      /^unknown "nope" variable/,
    );
    const yaml = loadYamlConfig(
      `stream:\n  servers:\n    - listen: "1 ssl"\n      return: ok\n      ssl_certificate: [$ssl_server_name.crt]\n` +
        `      ssl_certificate_key: ["data:-----BEGIN PRIVATE KEY-----"]\n`,
      "t.yaml",
    );
    assert.deepEqual(yaml.stream.servers[0]!.tls!.certificates, [
      { cert: "$ssl_server_name.crt", key: "data:-----BEGIN PRIVATE KEY-----" },
    ]);
  });

  test("the prefix: a pair with variables keeps its text and learns its base; data: is no path", () => {
    const config = read(`server { listen 1 ssl; ssl_certificate $ssl_server_name.crt; ssl_certificate_key k/$ssl_server_name.key;
      ssl_certificate "data:PEM"; ssl_certificate_key /abs/ec.key; ssl_session_ticket_key t.key; return ok; }`);
    const at = (p: string) => (p.startsWith("/") ? p : `/prefix/${p}`);
    const tls = prefixPaths(config, at).stream.servers[0]!.tls!;
    assert.deepEqual(tls.certificates, [
      { cert: "$ssl_server_name.crt", key: "k/$ssl_server_name.key", base: "/prefix/." },
      { cert: "data:PEM", key: "/abs/ec.key" },
    ]);
    assert.deepEqual(tls.sessionTicketKeys, ["/prefix/t.key"]);
  });
});

describe("ssl_session_ticket_key", () => {
  test("repeats into a list; a server's own list replaces stream{}'s; both spellings write it back", () => {
    const config = read(`ssl_session_ticket_key a.key; ssl_session_ticket_key b.key;
server { listen 1 ssl; ssl_certificate c; ssl_certificate_key k; return ok; }
server { listen 2 ssl; ssl_certificate c; ssl_certificate_key k; ssl_session_ticket_key own.key; return ok; }`);
    const [inherits, own] = config.stream.servers as [ServerConfig, ServerConfig];
    assert.deepEqual(inherits.tls!.sessionTicketKeys, ["a.key", "b.key"]);
    assert.deepEqual(own.tls!.sessionTicketKeys, ["own.key"]);
    assert.match(writeNginxConfig(config), /ssl_session_ticket_key a\.key;\s+ssl_session_ticket_key b\.key;/);
    const yaml = writeYamlConfig(config);
    assert.match(yaml, /ssl_session_ticket_key: \[a\.key, b\.key\]/);
    const back = loadYamlConfig(yaml, "t.yaml").stream.servers;
    assert.deepEqual(back.map((s) => s.tls!.sessionTicketKeys), [["a.key", "b.key"], ["own.key"]]);
  });
});

/** A runtime with files in memory and a TLS that records what it compiled. */
function tlsRuntime(files: Record<string, string>, over: Partial<TlsSupport> = {}) {
  const asked: TlsServerOptions[] = [];
  const support: TlsSupport = {
    library: "TestSSL",
    sni: true,
    cannot: () => null,
    ticketKeysUnshared: null,
    shareTicketKeys: () => {},
    serverContext: (o) => (asked.push(o), { verifyClient: o.verifyClient }),
    withCertificates: (base, pairs) => ({ ...base, pairs }) as TlsServerContext,
    accept: () => Promise.reject(new Error("unused")),
    connect: () => Promise.reject(new Error("unused")),
    ...over,
  };
  const runtime: Runtime = Object.assign(memoryRuntime(new Map(Object.entries(files))), { tls: support });
  return { runtime, asked };
}

const withKeys = (...keys: string[]) =>
  read(
    `server { listen 1 ssl; ssl_certificate /c; ssl_certificate_key /k; ${
      keys.map((k) => `ssl_session_ticket_key ${k};`).join(" ")
    } return ok; }`,
  ).stream.servers[0]!;

describe("compiling ticket keys and per-handshake certificates", () => {
  test("ticket key files reach the runtime in order; nginx's messages for a missing or wrong-sized one", async () => {
    const k48 = "a".repeat(48), k80 = "b".repeat(80);
    const { runtime, asked } = tlsRuntime({ "/c": "C", "/k": "K", "/t48": k48, "/t80": k80, "/short": "x".repeat(47) });
    await compileRouteTls(runtime, withKeys("/t80", "/t48"), true);
    assert.deepEqual(asked[0]!.ticketKeys!.map((k) => k.length), [80, 48]);
    await assert.rejects(compileRouteTls(runtime, withKeys("/none"), true), {
      message: `open() "/none" failed (2: No such file or directory)`,
    });
    await assert.rejects(compileRouteTls(runtime, withKeys("/short"), true), { message: `"/short" must be 48 or 80 bytes` });
  });

  test("a runtime that cannot take them refuses, naming itself", async () => {
    const cannot = (o: TlsServerOptions | object) =>
      "ticketKeys" in o && (o.ticketKeys as Uint8Array[]).length > 0 ? `"ssl_session_ticket_key"` : null;
    const { runtime } = tlsRuntime({ "/c": "C", "/k": "K", "/t": "t".repeat(48) }, { library: "BoringSSL", cannot });
    await assert.rejects(compileRouteTls(runtime, withKeys("/t"), true), {
      message: `"ssl_session_ticket_key" cannot be honoured on node (BoringSSL)`,
    });
  });

  test("certificates with variables load nothing at start; a runtime without the hook refuses", async () => {
    const config = read(VARIABLE);
    const server = config.stream.servers[0]!;
    const values = compileStreamVariables(config.stream).forServer(server).certificates!;
    const { runtime, asked } = tlsRuntime({});
    const route = await compileRouteTls(runtime, server, true, false, () => {}, values);
    assert.deepEqual(asked[0]!.pairs, []);
    assert.equal(asked[0]!.certificatesPerHandshake, "$name.crt $name.key\nec.crt ec.key");
    assert.ok(route!.certificates instanceof HandshakeCertificates);
    const without = tlsRuntime({}, { withCertificates: undefined });
    await assert.rejects(compileRouteTls(without.runtime, server, true, false, () => {}, values), {
      message: `variables in "ssl_certificate" and "ssl_certificate_key" directives are not supported on node (TestSSL)`,
    });
  });
});

describe("choosing the certificates of one handshake", () => {
  const config = read(`map $ssl_server_name $file { default $ssl_server_name; inline "data:INLINE"; }
server { listen 1 ssl; ssl_certificate $file; ssl_certificate_key $ssl_server_name.key; return ok; }`);
  const server = config.stream.servers[0]!;
  const compiled = compileStreamVariables(config.stream);
  const values = compiled.forServer(server).certificates!;
  const hello = (name: string) =>
    new SessionVariables(compiled.registry, variableContext({ ssl: (n) => (n === "server_name" ? name : null) }));

  function chooser(files: Map<string, string>, refuse: (cert: string) => boolean = () => false) {
    const made: TlsServerOptions["pairs"][] = [];
    const setup = { verifyClient: "off" } as TlsServerContext;
    const choose = new HandshakeCertificates(values, "/p", setup, (_base, pairs) => {
      if (pairs.some((p) => refuse(p.cert))) throw new TlsConfigError(`SSL_CTX_use_PrivateKey("${pairs[0]!.keyPath}") failed`);
      made.push(pairs);
      return { verifyClient: "off", n: made.length } as TlsServerContext;
    }, async (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
      return text;
    });
    return { choose, made };
  }

  test("paths evaluate with the ClientHello's name, relative ones under the prefix; data: is the PEM", async () => {
    const files = new Map([["/p/one", "C1"], ["/p/one.key", "K1"], ["/p/inline.key", "KI"]]);
    const { choose, made } = chooser(files);
    assert.ok("context" in await choose.choose(hello("one")));
    assert.ok("context" in await choose.choose(hello("inline")));
    assert.deepEqual(made, [
      [{ cert: "C1", key: "K1", certPath: "/p/one", keyPath: "/p/one.key" }],
      [{ cert: "INLINE", key: "KI", certPath: "data:INLINE", keyPath: "/p/inline.key" }],
    ]);
  });

  test("a setup is kept by the files' contents: the same bytes reuse it, a changed file makes a new one", async () => {
    const files = new Map([["/p/one", "C1"], ["/p/one.key", "K1"]]);
    const { choose, made } = chooser(files);
    const first = await choose.choose(hello("one"));
    const again = await choose.choose(hello("one"));
    assert.ok("context" in first && "context" in again);
    assert.equal(again.context, first.context);
    files.set("/p/one", "C2");
    const changed = await choose.choose(hello("one"));
    assert.ok("context" in changed);
    assert.notEqual(changed.context, first.context);
    assert.equal(made.length, 2);
  });

  test("what cannot be loaded is nginx's line for that handshake only", async () => {
    const files = new Map([["/p/one", "C1"], ["/p/one.key", "K1"], ["/p/bad", "BAD"], ["/p/bad.key", "K"]]);
    const { choose } = chooser(files, (cert) => cert === "BAD");
    assert.deepEqual(await choose.choose(hello("nx")), {
      error: `cannot load certificate "/p/nx": BIO_new_file() failed (2: No such file or directory)`,
    });
    assert.deepEqual(await choose.choose(hello("bad")), { error: `SSL_use_PrivateKey("/p/bad.key") failed` });
    assert.ok("context" in await choose.choose(hello("one")));
  });
});
