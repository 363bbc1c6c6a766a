// `resolver`, `resolver_timeout`, `zone` and `server … resolve [service=]` in both spellings:
// what they read into, nginx's errors, and a lossless trip YAML → nginx.conf → YAML.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

const F = "/t.conf";

function nginx(streamBody: string) {
  return loadNginxConfig(`events {}\nstream {\n${streamBody}\n}\n`, F).config;
}

function nginxError(streamBody: string): string {
  try {
    nginx(streamBody);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  assert.fail("loaded");
}

const SERVER = "server { listen 1; proxy_pass u; }";

describe("resolve config: nginx", () => {
  test("resolver, resolver_timeout and zone land in stream{} and the upstream; resolve and service= on the line", () => {
    const c = nginx(`resolver 127.0.0.1:5353 [::1] valid=1s ipv6=off;
resolver_timeout 2s;
upstream u {
  zone z 1m;
  server example.net:8080 resolve max_fails=0;
  server example.net resolve service=http weight=3;
  server 127.0.0.1:9 resolve;
  resolver 127.0.0.2;
  resolver_timeout 5s;
}
${SERVER}`);
    assert.deepEqual(
      { ...c.stream.resolver, loc: undefined },
      {
        addresses: ["127.0.0.1:5353", "[::1]"],
        servers: [{ host: "127.0.0.1", port: 5353 }, { host: "::1", port: 53 }],
        validMs: 1000,
        ipv4: true,
        ipv6: false,
        loc: undefined,
      },
    );
    assert.equal(c.stream.resolverTimeoutMs, 2000);
    const u = c.stream.upstreams.get("u")!;
    assert.deepEqual(u.zone, { name: "z", size: 1024 * 1024 });
    assert.deepEqual(u.resolver?.servers, [{ host: "127.0.0.2", port: 53 }]);
    assert.equal(u.resolverTimeoutMs, 5000);
    assert.deepEqual(
      u.servers.map((s) => [s.host, s.port, s.resolve ?? false, s.service ?? null, s.weight]),
      [
        ["example.net", 8080, true, null, 1],
        ["example.net", 0, true, "http", 3],
        // An address literal needs no lookup.
        ["127.0.0.1", 9, false, null, 1],
      ],
    );
  });

  test("nginx's errors for resolve without zone or resolver, for service= misuse and for bad resolver words", () => {
    const at = (n: number) => `${F}:${n}`;
    assert.equal(
      nginxError(`resolver 127.0.0.1;\nupstream u { server a.test:1 resolve; }\n${SERVER}`),
      `resolving names at run time requires upstream "u" in ${at(3)} to be in shared memory`.replace(":3", ":4"),
    );
    assert.equal(
      nginxError(`upstream u { zone z 64k; server a.test:1 resolve; }\n${SERVER}`),
      `no resolver defined to resolve names at run time in upstream "u" in ${at(3)}`,
    );
    const inUp = (line: string) => nginxError(`resolver 127.0.0.1;\nupstream u { zone z 64k; ${line} }\n${SERVER}`);
    assert.equal(inUp("server a.test service=http;"), `service upstream "a.test" requires "resolve" parameter in ${at(4)}`);
    assert.equal(inUp("server a.test:80 resolve service=http;"), `service upstream "a.test:80" may not have port in ${at(4)}`);
    assert.equal(inUp("server 127.0.0.1 resolve service=http;"), `service upstream "127.0.0.1" requires domain name in ${at(4)}`);
    assert.equal(inUp("server a.test resolve service=;"), `service is empty in ${at(4)}`);
    assert.equal(inUp("server a.test resolve;"), `no port in upstream "a.test" in ${at(4)}`);
    assert.equal(inUp("zone y 1k; server a.test:1;").replace(/ in .*/, ""), `"zone" directive is duplicate`);
    assert.equal(nginxError(`upstream u { zone z 1k; server a:1; }\n${SERVER}`), `zone "z" is too small in ${at(3)}`);
    assert.equal(nginxError(`upstream u { zone z; server a:1; }\n${SERVER}`), `zero size shared memory zone "z" in ${at(3)}`);
    assert.equal(
      nginxError(`resolver 127.0.0.1 ipv4=off ipv6=off;\n${SERVER.replace("u;", "127.0.0.1:9;")}`),
      `"ipv4" and "ipv6" cannot both be "off" in ${at(3)}`,
    );
    assert.equal(
      nginxError(`resolver 127.0.0.1 valid=x;\n${SERVER.replace("u;", "127.0.0.1:9;")}`),
      `invalid parameter: valid=x in ${at(3)}`,
    );
    assert.equal(
      nginxError(`resolver 127.0.0.1;\nresolver 127.0.0.2;\n${SERVER.replace("u;", "127.0.0.1:9;")}`),
      `"resolver" directive is duplicate in ${at(4)}`,
    );
    assert.match(
      nginxError(`resolver dns.test;\n${SERVER.replace("u;", "127.0.0.1:9;")}`),
      /^host names in "resolver" are not supported yet/,
    );
  });
});

describe("resolve config: YAML and the round trip", () => {
  const YAML = `stream:
  resolver: { addresses: ["127.0.0.1:5353", "127.0.0.3"], valid: 10s, ipv6: false }
  resolver_timeout: 3s
  upstreams:
    u:
      zone: { name: z, size: 64k }
      resolver: "127.0.0.2"
      servers:
        - { address: "example.net:8080", resolve: true, max_fails: 0 }
        - { address: example.net, resolve: true, service: _http._tcp, backup: true }
    v:
      zone: z
      servers: ["127.0.0.1:7"]
  servers:
    - { listen: 8000, proxy_pass: u }
    - { listen: 8001, proxy_pass: v }
`;

  test("YAML reads the same settings as nginx would", () => {
    const c = loadYamlConfig(YAML, "/t.yaml");
    assert.deepEqual(c.stream.resolver?.servers, [{ host: "127.0.0.1", port: 5353 }, { host: "127.0.0.3", port: 53 }]);
    assert.equal(c.stream.resolver?.validMs, 10_000);
    assert.equal(c.stream.resolver?.ipv6, false);
    assert.equal(c.stream.resolverTimeoutMs, 3000);
    const u = c.stream.upstreams.get("u")!;
    assert.deepEqual(u.zone, { name: "z", size: 65536 });
    assert.deepEqual(u.servers.map((s) => [s.host, s.port, s.resolve, s.service ?? null, s.backup]), [
      ["example.net", 8080, true, null, false],
      ["example.net", 0, true, "_http._tcp", true],
    ]);
    assert.deepEqual(c.stream.upstreams.get("v")!.zone, { name: "z", size: null });
  });

  test("YAML → nginx.conf → YAML keeps every resolve setting", () => {
    const first = loadYamlConfig(YAML, "/t.yaml");
    const conf = writeNginxConfig(first);
    assert.match(conf, /resolver 127\.0\.0\.1:5353 127\.0\.0\.3 valid=10s ipv6=off;/);
    assert.match(
      conf,
      /server example\.net _*resolve service=_http\._tcp backup;|server example\.net backup resolve service=_http\._tcp;/,
    );
    const back = loadNginxConfig(conf, "/t.conf").config;
    const yaml = writeYamlConfig(back);
    assert.equal(writeYamlConfig(loadYamlConfig(yaml, "/t2.yaml")), yaml);
    assert.equal(yaml, writeYamlConfig(first));
    const strip = (c: typeof first) =>
      JSON.stringify(
        [...c.stream.upstreams.values()].map((u) => ({
          ...u,
          loc: 0,
          resolver: u.resolver?.servers,
          servers: u.servers.map((s) => ({ ...s, loc: 0 })),
        })),
      );
    assert.equal(strip(back), strip(first));
  });

  test("YAML refuses what nginx refuses", () => {
    const bad = (servers: string) => {
      try {
        loadYamlConfig(
          `stream:\n  resolver: 127.0.0.1\n  upstreams:\n    u:\n      zone: { name: z, size: 64k }\n      servers: [${servers}]\n  servers: [{ listen: 1, proxy_pass: u }]\n`,
          "/t.yaml",
        );
      } catch (e) {
        if (e instanceof ConfigError) return e.problem;
        throw e;
      }
      return "loaded";
    };
    assert.equal(bad(`{ address: "a.test:80", resolve: true, service: http }`), `service upstream "a.test:80" may not have port`);
    assert.equal(bad(`{ address: a.test, service: http }`), `service upstream "a.test" requires "resolve" parameter`);
    assert.equal(bad(`{ address: "a.test:80", resolve: true }`), "loaded");
  });
});
