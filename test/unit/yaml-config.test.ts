import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

const SEED = `
stream:
  proxy_connect_timeout: 1s
  tcp_nodelay: true
  upstreams:
    MyServer:
      servers:
        - { address: "127.0.0.1:6000", weight: 1, max_fails: 3, fail_timeout: 30s }
        - { address: "127.0.0.1:6002", weight: 2, max_fails: 3, fail_timeout: 30s }
  servers:
    - listen: 8000
      proxy_pass: MyServer
      proxy_timeout: 3s
`;

function errorOf(text: string): ConfigError {
  try {
    loadYamlConfig(text, "test.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the config to be rejected");
}

describe("YAML config", () => {
  test("the seed's config loads with nginx's names and defaults", () => {
    const c = loadYamlConfig(SEED, "seed.yaml");
    const up = c.stream.upstreams.get("MyServer")!;
    assert.deepEqual(
      up.servers.map((s) => [s.address, s.weight, s.maxFails, s.failTimeoutMs]),
      [
        ["127.0.0.1:6000", 1, 3, 30_000],
        ["127.0.0.1:6002", 2, 3, 30_000],
      ],
    );
    const server = c.stream.servers[0]!;
    assert.deepEqual(server.listen.map((l) => [l.host, l.port]), [[null, 8000]]);
    assert.equal(server.proxy.proxyConnectTimeoutMs, 1000, "inherited from stream");
    assert.equal(server.proxy.proxyTimeoutMs, 3000, "set on the server");
    assert.equal(server.proxy.proxyBufferSize, 16 * 1024, "nginx default");
    assert.equal(server.proxy.proxyHalfClose, false);
    assert.equal(server.proxy.proxyNextUpstream, true);
    assert.equal(c.errorLog.level, "error");
  });

  test("server defaults are nginx's: weight=1 max_fails=1 fail_timeout=10s", () => {
    const c = loadYamlConfig(
      `stream: { upstreams: { u: { servers: ["127.0.0.1:1"] } }, servers: [{ listen: 1, proxy_pass: u }] }`,
      "t.yaml",
    );
    const s = c.stream.upstreams.get("u")!.servers[0]!;
    assert.deepEqual([s.weight, s.maxFails, s.failTimeoutMs, s.maxConns, s.backup, s.down], [1, 1, 10_000, 0, false, false]);
    assert.equal(c.stream.servers[0]!.proxy.proxyConnectTimeoutMs, 60_000);
    assert.equal(c.stream.servers[0]!.proxy.proxyTimeoutMs, 600_000);
  });

  test("proxy_pass host:port makes nginx's implicit upstream", () => {
    const c = loadYamlConfig(`stream: { servers: [{ listen: "127.0.0.1:9", proxy_pass: "127.0.0.1:7" }] }`, "t.yaml");
    const up = c.stream.upstreams.get("127.0.0.1:7")!;
    assert.equal(up.implicit, true);
    assert.equal(up.servers[0]!.port, 7);
  });

  test("a YAML syntax error names file, line and column", () => {
    const e = errorOf("stream:\n  servers:\n    - listen: [8000\n");
    assert.equal(e.loc?.file, "test.yaml");
    assert.ok((e.loc?.line ?? 0) >= 3, `line ${e.loc?.line}`);
    assert.match(e.message, /^YAML syntax error: .* in test\.yaml:\d+:\d+$/);
  });

  test("an unknown key is named with its line and column", () => {
    const e = errorOf(SEED.replace("tcp_nodelay: true", "tcp_nodelya: true"));
    assert.match(e.message, /unknown key "tcp_nodelya" in stream/);
    assert.deepEqual([e.loc?.line, e.loc?.col], [4, 3]);
  });

  test("a bad time says what is wrong and where", () => {
    const e = errorOf(
      SEED.replace(
        'fail_timeout: 30s }\n        - { address: "127.0.0.1:6002"',
        'fail_timeout: 30ms }\n        - { address: "127.0.0.1:6002"',
      ),
    );
    assert.match(e.message, /invalid fail_timeout "30ms"/);
    assert.equal(e.loc?.line, 8);
  });

  test("proxy_pass to an unknown name is an error at the proxy_pass", () => {
    const e = errorOf(SEED.replace("proxy_pass: MyServer", "proxy_pass: Nope"));
    assert.match(e.message, /proxy_pass "Nope" is neither an upstream name nor host:port/);
    assert.equal(e.loc?.line, 12);
  });

  test("backup is refused with hash, as nginx refuses it", () => {
    const e = errorOf(`
stream:
  upstreams:
    u:
      hash: $remote_addr
      servers:
        - "127.0.0.1:1"
        - { address: "127.0.0.1:2", backup: true }
  servers: [{ listen: 1, proxy_pass: u }]
`);
    assert.match(e.message, /balancing method does not support parameter "backup"/);
    assert.equal(e.loc?.line, 8);
  });

  test("duplicate listen addresses are refused", () => {
    const e = errorOf(`
stream:
  servers:
    - { listen: 8000, proxy_pass: "127.0.0.1:1" }
    - { listen: 8000, proxy_pass: "127.0.0.1:2" }
`);
    assert.match(e.message, /duplicate "\*:8000" address and port pair/);
  });

  test("the embedded default is the seed's cluster", () => {
    const c = loadYamlConfig(readFileSync("src/default.yaml", "utf8"), "default.yaml");
    const up = c.stream.upstreams.get("MyServer")!;
    assert.deepEqual(up.servers.map((s) => [s.address, s.weight, s.maxFails, s.failTimeoutMs]), [
      ["127.0.0.1:6000", 1, 3, 30_000],
      ["127.0.0.1:6002", 1, 3, 30_000],
    ]);
    const server = c.stream.servers[0]!;
    assert.equal(server.listen[0]!.port, 8000);
    assert.equal(server.proxy.proxyConnectTimeoutMs, 1000);
    assert.equal(server.proxy.tcpNodelay, true);
  });
});

describe("version", () => {
  test("src/version.ts matches package.json", async () => {
    const { VERSION } = await import("../../src/version.ts");
    assert.equal(VERSION, JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});
