// `pass ADDRESS` read as nginx reads it: the address forms ngx_parse_url takes without
// resolving, the load-time errors in nginx's words with file:line, the last content handler
// winning, the YAML spelling, and both writers carrying it over.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { parsePassAddress, passDirectiveProblem, passSessionProblem } from "../../src/core/pass-address.ts";
import { PassListeners } from "../../src/core/pass-listeners.ts";

const nginx = (servers: string, more = "") => `events {}\nstream {\n${more}\n${servers}\n}\n`;

function loadError(text: string): string {
  try {
    loadNginxConfig(text, "/t.conf");
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  assert.fail("the config loaded");
}

describe("pass addresses (ngx_parse_url, not resolving)", () => {
  test("literal addresses get nginx's printed names", () => {
    const names = ["127.0.0.1:8080", "[::1]:53", "[0:0:0:0:0:0:0:1]:53", "[2001:DB8::0:1]:1", "unix:/tmp/x.sock", "0.0.0.0:9"]
      .map((u) => {
        const a = parsePassAddress(u);
        assert.ok(!("kind" in a), u);
        return a.name;
      });
    assert.deepEqual(names, ["127.0.0.1:8080", "[::1]:53", "[::1]:53", "[2001:db8::1]:1", "unix:/tmp/x.sock", "0.0.0.0:9"]);
  });

  test("each fault in nginx's words, at load and per session", () => {
    const cases: [string, string, string][] = [
      ["127.0.0.1:0", `invalid port in "127.0.0.1:0" of the "pass" directive`, `invalid port in pass "127.0.0.1:0"`],
      ["127.0.0.1:65536", `invalid port in "127.0.0.1:65536" of the "pass" directive`, `invalid port in pass "127.0.0.1:65536"`],
      ["127.0.0.1:x", `invalid port in "127.0.0.1:x" of the "pass" directive`, `invalid port in pass "127.0.0.1:x"`],
      [":80", `no host in ":80" of the "pass" directive`, `no host in pass ":80"`],
      ["127.0.0.1:80/x", `invalid host in "127.0.0.1:80/x" of the "pass" directive`, `invalid host in pass "127.0.0.1:80/x"`],
      ["[::1", `invalid host in "[::1" of the "pass" directive`, `invalid host in pass "[::1"`],
      ["[::1]x", `invalid host in "[::1]x" of the "pass" directive`, `invalid host in pass "[::1]x"`],
      ["[::g]:1", `invalid IPv6 address in "[::g]:1" of the "pass" directive`, `invalid IPv6 address in pass "[::g]:1"`],
      [
        "unix:",
        `no path in the unix domain socket in "unix:" of the "pass" directive`,
        `no path in the unix domain socket in pass "unix:"`,
      ],
      ["localhost:80", `"pass" directive has no addresses`, `no addresses in pass "localhost:80"`],
      ["127.0.0.1", `"pass" directive has no port`, `no port in pass "127.0.0.1"`],
      ["[::1]", `"pass" directive has no port`, `no port in pass "[::1]"`],
    ];
    for (const [url, atLoad, perSession] of cases) {
      assert.equal(passDirectiveProblem(url), atLoad, url);
      assert.equal(passSessionProblem(parsePassAddress(url), url), perSession, url);
    }
    const long = `unix:/${"x".repeat(107)}`;
    assert.equal(passSessionProblem(parsePassAddress(long), long), `too long path in the unix domain socket in pass "${long}"`);
    assert.equal(passDirectiveProblem(`unix:/${"x".repeat(106)}`), null);
  });
});

describe("which listener a pass reaches", () => {
  const listen = (host: string | null, port: number, extra: object = {}) => ({
    host,
    port,
    loc: { file: "t", line: 1, col: 1 },
    ...extra,
  });
  const listeners = new PassListeners([
    listen(null, 8080),
    listen("127.0.0.2", 8080),
    listen("::", 8081),
    listen("::1", 8082),
    listen("127.0.0.1", 53, { udp: true }),
    listen(null, 0, { unixPath: "/tmp/a.sock" }),
  ]);
  const find = (url: string) => {
    const a = parsePassAddress(url);
    assert.ok(!("kind" in a), url);
    return listeners.find(a);
  };

  test("an exact address first, then the wildcard of its family and port", () => {
    assert.equal(find("127.0.0.2:8080"), "127.0.0.2:8080");
    assert.equal(find("127.0.0.9:8080"), "*:8080");
    assert.equal(find("[::5]:8081"), "[::]:8081");
    assert.equal(find("[0::1]:8082"), "[::1]:8082");
    assert.equal(find("unix:/tmp/a.sock"), "unix:/tmp/a.sock");
  });

  test("another family, another port or a UDP listener is no match", () => {
    assert.equal(find("[::1]:8080"), null);
    assert.equal(find("127.0.0.1:8081"), null);
    assert.equal(find("127.0.0.1:8082"), null);
    assert.equal(find("127.0.0.1:53"), null);
    assert.equal(find("unix:/tmp/b.sock"), null);
  });
});

describe("reading pass", () => {
  test("a literal address is judged at load, with file and line", () => {
    assert.equal(
      loadError(nginx("server {\n listen 1;\n pass 127.0.0.1;\n}")),
      `"pass" directive has no port in /t.conf:6`,
    );
    assert.equal(
      loadError(nginx("server {\n listen 1;\n pass example.com:80;\n}")),
      `"pass" directive has no addresses in /t.conf:6`,
    );
    assert.equal(
      loadError(nginx("server {\n listen 1;\n pass 127.0.0.1:99999;\n}")),
      `invalid port in "127.0.0.1:99999" of the "pass" directive in /t.conf:6`,
    );
  });

  test("a value with variables waits for the session, but its variables must exist", () => {
    const { config } = loadNginxConfig(nginx("server { listen 1; pass $remote_addr:80; }"), "/t.conf");
    assert.equal(config.stream.servers[0]!.pass, "$remote_addr:80");
    assert.match(loadError(nginx("server { listen 1; pass $nope; }")), /unknown "nope" variable/);
  });

  test("twice is a duplicate; with proxy_pass or return the last one wins, as nginx", () => {
    assert.equal(
      loadError(nginx("server {\n listen 1;\n pass 127.0.0.1:2;\n pass 127.0.0.1:3;\n}")),
      `"pass" directive is duplicate in /t.conf:7`,
    );
    const { config } = loadNginxConfig(
      nginx("server { listen 1; proxy_pass 127.0.0.1:9; pass 127.0.0.1:2; }\nserver { listen 2; pass 127.0.0.1:1; return x; }"),
      "/t.conf",
    );
    const [a, b] = config.stream.servers;
    assert.deepEqual([a!.proxyPass, a!.return, a!.pass], [null, null, "127.0.0.1:2"]);
    assert.deepEqual([b!.proxyPass, b!.return, b!.pass], [null, "x", undefined]);
  });

  test("only in a server{}", () => {
    assert.match(loadError(nginx("server { listen 1; return x; }", "pass 127.0.0.1:1;")), /"pass" directive is not allowed here/);
  });

  test("YAML: `pass:` in a server, one handler only, the same checks", () => {
    const yaml = (server: string) => `stream:\n  servers:\n    - ${server}\n`;
    const config = loadYamlConfig(yaml(`{ listen: 1, pass: "[::1]:2" }`), "/t.yaml");
    assert.equal(config.stream.servers[0]!.pass, "[::1]:2");
    assert.throws(
      () => loadYamlConfig(yaml(`{ listen: 1, return: x, pass: "127.0.0.1:2" }`), "/t.yaml"),
      (e: ConfigError) => e.problem === `stream.servers[0] has both "return" and "pass": one handles the session`,
    );
    assert.throws(
      () => loadYamlConfig(yaml(`{ listen: 1, pass: "127.0.0.1" }`), "/t.yaml"),
      (e: ConfigError) => e.message === `"pass" directive has no port in /t.yaml:3:26`,
    );
  });

  test("both writers carry pass over, and read back the same", () => {
    const text = nginx(
      "server { listen 1; pass $a; }\nserver { listen 127.0.0.1:2; pass 127.0.0.1:1; }",
      "map $remote_addr $a { default 127.0.0.1:2; }",
    );
    const { config } = loadNginxConfig(text, "/t.conf");
    const viaNginx = loadNginxConfig(writeNginxConfig(config), "/w.conf").config;
    const viaYaml = loadYamlConfig(writeYamlConfig(config), "/w.yaml");
    for (const c of [viaNginx, viaYaml]) assert.deepEqual(c.stream.servers.map((s) => s.pass), ["$a", "127.0.0.1:1"]);
  });
});
