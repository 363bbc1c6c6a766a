// Active health checks in config: YAML, NGINX Plus's health_check/match and yaoweibin's check
// make the same HealthCheckConfig; mistakes are errors with their place; `convert` round-trips.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import { decodeMatchText } from "../../src/core/config/values/match-text.ts";
import { type Config, DEFAULT_HEALTH_CHECK, type HealthCheckConfig } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { formatWarning } from "../../src/core/config/read-nginx/files.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";

const fromYaml = (text: string) => loadYamlConfig(text, "in.yaml");
const fromNginx = (text: string) => loadNginxConfig(text, "in.conf").config;
const warningsOf = (text: string) => loadNginxConfig(text, "in.conf").warnings.map(formatWarning);
const check = (config: Config, upstream = "u") => config.stream.upstreams.get(upstream)!.healthCheck;

function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

/** The model as plain data without where things were written (maps as entry lists). */
function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}

const yaml = (healthCheck: string, extra = "") => `
stream:${extra}
  upstreams:
    u:
      servers: ["127.0.0.1:6000", "127.0.0.1:6001"]
      health_check: ${healthCheck}
  servers:
    - { listen: 8000, proxy_pass: u }
`;

const plus = (serverLines: string, streamLines = "") =>
  `events {}
stream {
${streamLines}
    upstream u { server 127.0.0.1:6000; server 127.0.0.1:6001; }
    server {
        listen 8000;
        proxy_pass u;
${serverLines}
    }
}
`;

const tcp = (upstreamLines: string) =>
  `events {}
tcp {
    upstream u {
        server 127.0.0.1:6000;
        server 127.0.0.1:6001;
${upstreamLines}
    }
    server { listen 8000; proxy_pass u; }
}
`;

const FULL: HealthCheckConfig = {
  intervalMs: 2000,
  jitterMs: 500,
  timeoutMs: 1000,
  fails: 3,
  passes: 2,
  port: 7000,
  mandatory: true,
  persistent: true,
  udp: false,
  send: "PING\r\n\x00\xff",
  expect: { kind: "regex", pattern: "^\\+PONG", caseless: true },
};

describe("health checks: three spellings, one model", () => {
  test("YAML: every key", () => {
    const config = fromYaml(
      yaml(
        `{ interval: 2s, jitter: 500ms, timeout: 1s, fails: 3, passes: 2, port: 7000, mandatory: true, persistent: true, send: "PING\\r\\n\\\\x00\\\\xff", expect: { regex: "^\\\\+PONG", ignore_case: true } }`,
      ),
    );
    assert.deepEqual(check(config), FULL);
  });

  test("NGINX Plus: health_check, match and health_check_timeout", () => {
    const config = fromNginx(
      plus(
        `        health_check interval=2s jitter=500ms fails=3 passes=2 port=7000 match=pong mandatory persistent;
        health_check_timeout 1s;`,
        `    match pong {
        send "PING\\r\\n\\x00\\xff";
        expect ~* "^\\+PONG";
    }`,
      ),
    );
    assert.deepEqual(check(config), FULL);
  });

  test("a bare health_check, health_check: true and {} are Plus's defaults", () => {
    assert.deepEqual(check(fromNginx(plus("        health_check;"))), DEFAULT_HEALTH_CHECK);
    assert.deepEqual(check(fromYaml(yaml("true"))), DEFAULT_HEALTH_CHECK);
    assert.deepEqual(check(fromYaml(yaml("{}"))), DEFAULT_HEALTH_CHECK);
    assert.equal(check(fromYaml(yaml("false"))), null);
    assert.equal(check(fromNginx(plus(""))), null);
  });

  test("NGINX Plus's health_check udp and YAML's udp: true are one check; match's send/expect go with it", () => {
    const udp: HealthCheckConfig = { ...DEFAULT_HEALTH_CHECK, udp: true };
    assert.deepEqual(check(fromNginx(plus("        health_check udp;"))), udp);
    assert.deepEqual(check(fromYaml(yaml("{ udp: true }"))), udp);
    const dns: HealthCheckConfig = {
      ...udp,
      intervalMs: 1000,
      fails: 2,
      send: "\x00\x01",
      expect: { kind: "bytes", bytes: "\x81" },
    };
    assert.deepEqual(
      check(
        fromNginx(
          plus("        health_check udp interval=1s fails=2 match=dns;", `    match dns { send "\\x00\\x01"; expect "\\x81"; }`),
        ),
      ),
      dns,
    );
    assert.deepEqual(check(fromYaml(yaml(`{ udp: true, interval: 1s, fails: 2, send: '\\x00\\x01', expect: '\\x81' }`))), dns);
    assert.equal(
      errorOf(() => fromYaml(yaml("{ udp: sometimes }"))),
      `invalid health_check of upstream "u": udp "sometimes": expected true/false or on/off in in.yaml:6:28`,
    );
  });

  test("yaoweibin: plain milliseconds, rise/fall, servers start down (and keep their state on reload)", () => {
    const expected: HealthCheckConfig = {
      ...DEFAULT_HEALTH_CHECK,
      intervalMs: 3000,
      timeoutMs: 1000,
      fails: 5,
      passes: 2,
      mandatory: true,
      persistent: true,
    };
    assert.deepEqual(check(fromNginx(tcp("check interval=3000 rise=2 fall=5 timeout=1000 type=tcp;"))), expected);
    assert.deepEqual(
      check(fromYaml(yaml("{ interval: 3s, timeout: 1s, fails: 5, passes: 2, mandatory: true, persistent: true }"))),
      expected,
    );
    // the module's defaults: 30 s, rise 2, fall 5, 1 s
    assert.deepEqual(check(fromNginx(tcp("check type=tcp;"))), { ...expected, intervalMs: 30_000 });
    assert.deepEqual(check(fromNginx(tcp("check interval=500 default_down=false;"))), {
      ...expected,
      intervalMs: 500,
      mandatory: false,
      persistent: false,
    });
  });

  test("the check module's stream port: the same check in a stream{} upstream", () => {
    const streamCheck = (lines: string, serverLines = "") =>
      `events {}\nstream {\n    upstream u {\n        server 127.0.0.1:6000;\n        ${lines}\n    }\n    server {\n        listen 8000;\n        proxy_pass u;\n        ${serverLines}\n    }\n}\n`;
    assert.deepEqual(
      check(fromNginx(streamCheck("check interval=3000 rise=2 fall=5 timeout=1000 type=tcp;"))),
      check(fromNginx(tcp("check interval=3000 rise=2 fall=5 timeout=1000 type=tcp;"))),
    );
    assert.equal(
      errorOf(() => fromNginx(streamCheck("check interval=3000 type=tcp;", "health_check;"))),
      `upstream "u" already has a different health check (in.conf:5): streamlb runs one health check per upstream in in.conf:10`,
    );
    // the same check spelled both ways is one check
    assert.equal(
      check(
        fromNginx(streamCheck("check interval=1000 rise=1 fall=1 timeout=5000 default_down=false;", "health_check interval=1s;")),
      )!.intervalMs,
      1000,
    );
  });

  test("yaoweibin type=http: check_http_send and check_http_expect_alive become send and a status-line regex", () => {
    const h = check(
      fromNginx(
        tcp(
          `check interval=1000 type=http;\n check_http_send "GET /health HTTP/1.0\\r\\n\\r\\n";\n check_http_expect_alive http_2xx;`,
        ),
      ),
    )!;
    assert.equal(h.send, "GET /health HTTP/1.0\r\n\r\n");
    assert.deepEqual(h.expect, { kind: "regex", pattern: "^HTTP/[0-9.]+ [2][0-9][0-9]", caseless: false });
    const defaults = check(fromNginx(tcp("check type=http;")))!;
    assert.equal(defaults.send, "GET / HTTP/1.0\r\n\r\n");
    assert.deepEqual(defaults.expect, { kind: "regex", pattern: "^HTTP/[0-9.]+ [23][0-9][0-9]", caseless: false });
  });

  test("the same upstream spelled three ways is one Config", () => {
    const fromYamlText = fromYaml(`
stream:
  upstreams:
    u:
      servers: ["127.0.0.1:6000", "127.0.0.1:6001"]
      health_check: { interval: 300ms, timeout: 1s, fails: 2, passes: 2, mandatory: true, persistent: true }
  servers:
    - { listen: 8000, proxy_pass: u, proxy_timeout: 1m, proxy_buffer_size: 4k }
`);
    const fromPlus = fromNginx(
      plus(
        "        health_check interval=300ms fails=2 passes=2 mandatory persistent;\n        health_check_timeout 1s;\n        proxy_timeout 1m;\n        proxy_buffer_size 4k;",
      ),
    );
    const fromTcp = fromNginx(tcp("check interval=300 rise=2 fall=2 timeout=1000;"));
    assert.deepEqual(comparable(fromPlus), comparable(fromYamlText));
    assert.deepEqual(comparable(fromTcp), comparable(fromYamlText));
  });

  test("health_check_timeout: stream{} is inherited, server{} overrides", () => {
    assert.equal(check(fromNginx(plus("        health_check;", "    health_check_timeout 2s;")))!.timeoutMs, 2000);
    assert.equal(
      check(fromNginx(plus("        health_check;\n        health_check_timeout 300ms;", "    health_check_timeout 2s;")))!
        .timeoutMs,
      300,
    );
  });

  test("a match may come after the server that names it; expect takes a string, ~ or ~*", () => {
    const text = plus("        health_check match=m;", "");
    const withMatch = (body: string) => text.replace(/\n\}\n$/, `\n    match m { ${body} }\n}\n`);
    assert.deepEqual(check(fromNginx(withMatch(`expect "OK";`)))!.expect, { kind: "bytes", bytes: "OK" });
    assert.deepEqual(check(fromNginx(withMatch(`expect ~ "^OK$";`)))!.expect, {
      kind: "regex",
      pattern: "^OK$",
      caseless: false,
    });
    assert.deepEqual(check(fromNginx(withMatch(`send "x";`)))!, { ...DEFAULT_HEALTH_CHECK, send: "x" });
  });

  test("every spelling decodes \\xNN to a byte and other text to UTF-8", () => {
    assert.equal(decodeMatchText("\\x00A\\x7f\\xFF\\x4"), "\x00A\x7f\xff\\x4");
    assert.equal(decodeMatchText("é"), "\xc3\xa9");
    assert.equal(check(fromYaml(yaml(`{ send: '\\x01é' }`)))!.send, "\x01\xc3\xa9");
  });

  test("proxy_session_drop: stream{} and server{} in both spellings", () => {
    const y = fromYaml(yaml("{}", "\n  proxy_session_drop: true"));
    assert.equal(y.stream.servers[0]!.proxy.proxySessionDrop, true);
    const n = fromNginx(plus("        proxy_session_drop on;"));
    assert.equal(n.stream.servers[0]!.proxy.proxySessionDrop, true);
    assert.equal(fromNginx(plus("")).stream.servers[0]!.proxy.proxySessionDrop, false);
  });

  test("what takes effect warns no more; what does not says so", () => {
    assert.deepEqual(
      warningsOf(
        plus(
          "        health_check match=m mandatory;\n        health_check_timeout 1s;\n        proxy_session_drop off;",
          "    match m { send x; }",
        ),
      ),
      [],
    );
    assert.deepEqual(warningsOf(tcp("check interval=1000 type=tcp;")), []);
    assert.deepEqual(warningsOf(tcp("check type=smtp;")), [
      `"check type=smtp" is not supported yet: a TCP connect check is used instead in in.conf:6`,
    ]);
    assert.deepEqual(warningsOf(tcp("check type=tcp;\n check_http_send x;")), [
      `"check_http_send" is ignored: it needs "check type=http" in in.conf:7`,
    ]);
  });
});

describe("health checks: mistakes", () => {
  test("nginx: parameters, match names, proxy_pass targets, one check per upstream", () => {
    const nginxError = (text: string) => errorOf(() => fromNginx(text));
    assert.equal(nginxError(plus("        health_check interval=0;")), `invalid parameter "interval=0" in in.conf:8`);
    assert.equal(nginxError(plus("        health_check fails=x;")), `invalid parameter "fails=x" in in.conf:8`);
    assert.equal(nginxError(plus("        health_check port=70000;")), `invalid parameter "port=70000" in in.conf:8`);
    assert.equal(nginxError(plus("        health_check bogus;")), `invalid parameter "bogus" in in.conf:8`);
    assert.equal(
      nginxError(plus("        health_check persistent;")),
      `invalid parameter "persistent": it needs "mandatory" before it in in.conf:8`,
    );
    assert.equal(nginxError(plus("        health_check match=nope;")), `match "nope" not found in in.conf:8`);
    assert.match(
      nginxError(plus("", `    match m { expect ~ "(unclosed"; }`)),
      /^invalid regular expression "\(unclosed" .* in in\.conf:3$/,
    );
    assert.equal(nginxError(plus("", `    match m { expect = "x"; }`)).split(":")[0], `invalid parameter "="`);
    assert.equal(nginxError(plus("", `    match m { send a; send b; }`)), `"send" directive is duplicate in in.conf:3`);
    assert.equal(
      nginxError(`events {}\nstream {\n server { listen 1; proxy_pass 127.0.0.1:9; health_check; }\n}\n`),
      `"health_check" needs "proxy_pass" to an upstream{} group, not to an address in in.conf:3`,
    );
    assert.equal(
      nginxError(`events {}
stream {
 upstream u { server 127.0.0.1:1; }
 server { listen 1; proxy_pass u; health_check interval=1s; }
 server { listen 2; proxy_pass u; health_check interval=2s; }
}
`),
      `upstream "u" already has a different health check (in.conf:4): streamlb runs one health check per upstream in in.conf:5`,
    );
    // the same check written twice is one check
    assert.equal(
      check(fromNginx(`events {}
stream {
 upstream u { server 127.0.0.1:1; }
 server { listen 1; proxy_pass u; health_check interval=1s; }
 server { listen 2; proxy_pass U; health_check interval=1s; }
}
`))!.intervalMs,
      1000,
    );
    assert.equal(nginxError(tcp("check interval=abc;")), `invalid parameter "interval=abc" in in.conf:6`);
    assert.equal(nginxError(tcp("check type=tcp;\n check type=tcp;")), `"check" directive is duplicate in in.conf:7`);
    assert.equal(
      nginxError(tcp("check type=http;\n check_http_expect_alive http_6xx;")),
      `invalid value "http_6xx" in in.conf:7`,
    );
  });

  test("YAML: keys, values, persistent without mandatory, regexes, with line and column", () => {
    const yamlError = (hc: string) => errorOf(() => fromYaml(yaml(hc)));
    assert.match(yamlError("{ bogus: 1 }"), /^unknown key "bogus" in health_check of upstream "u"/);
    assert.match(yamlError("{ interval: 0s }"), /interval must be more than 0/);
    assert.match(yamlError("{ fails: 0 }"), /^invalid health_check of upstream "u": fails "0"/);
    assert.match(yamlError("{ port: 0 }"), /port "0": expected a whole number from 1 to 65535/);
    assert.match(yamlError("{ persistent: true }"), /persistent needs mandatory: true/);
    assert.match(yamlError(`{ expect: { regex: "(" } }`), /expect regex "\(":/);
    assert.match(yamlError(`{ expect: { text: "x" } }`), /unknown key "text"/);
    const e = (() => {
      try {
        fromYaml(yaml("{ timeout: soon }"));
      } catch (err) {
        return err as ConfigError;
      }
      return null;
    })();
    assert.deepEqual(e?.loc, { file: "in.yaml", line: 6, col: 32 });
  });
});

describe("health checks: streamlb convert round-trips them", () => {
  const cases: Record<string, string> = {
    "every setting, bytes and a caseless regex": yaml(
      `{ interval: 2s, jitter: 500ms, timeout: 1s, fails: 3, passes: 2, port: 7000, mandatory: true, persistent: true, send: "PING\\r\\n\\\\x00\\\\xff\\"q\\" \\\\\\\\", expect: { regex: "^\\\\+PONG \\"x\\" [{]", ignore_case: true } }`,
      "\n  proxy_session_drop: true",
    ),
    "bytes expected, with a backslash and non-ASCII": yaml(`{ send: 'a\\b', expect: "é\\\\x80" }`),
    "a UDP check, with and without a match": yaml(`{ udp: true, interval: 700ms, expect: "up" }`),
    "a bare UDP check": yaml(`{ udp: true }`),
    defaults: yaml("{}"),
  };
  for (const [name, text] of Object.entries(cases)) {
    test(`YAML → nginx.conf → the same Config, and back to YAML: ${name}`, () => {
      const config = fromYaml(text);
      const nginx = writeNginxConfig(config, "in.yaml");
      assert.deepEqual(comparable(fromNginx(nginx)), comparable(config), nginx);
      const back = writeYamlConfig(fromNginx(nginx));
      assert.deepEqual(comparable(fromYaml(back)), comparable(config), back);
    });
  }

  test("nginx.conf → YAML → the same Config, for Plus and yaoweibin", () => {
    for (
      const text of [
        plus(
          "        health_check interval=1s match=m mandatory;\n        health_check_timeout 3s;",
          `    match m { send "\\x00\\x01"; expect "\\x02"; }`,
        ),
        tcp(`check interval=1000 rise=1 fall=3 type=http;\n check_http_send "HEAD / HTTP/1.0\\r\\n\\r\\n";`),
      ]
    ) {
      const config = fromNginx(text);
      const yamlText = writeYamlConfig(config, "in.conf");
      assert.deepEqual(comparable(fromYaml(yamlText)), comparable(config), yamlText);
      assert.deepEqual(comparable(fromNginx(writeNginxConfig(config))), comparable(config));
    }
  });

  test("what the writers say", () => {
    const config = fromYaml(yaml(`{ interval: 1s, fails: 2, send: "PING\\r\\n", expect: "PONG" }`));
    assert.match(
      writeYamlConfig(config),
      /^ {6}health_check: \{ interval: 1s, fails: 2, send: "PING\\r\\n", expect: "PONG" \}$/m,
    );
    const nginx = writeNginxConfig(config);
    assert.match(nginx, /^ {8}health_check interval=1s fails=2 match=u;$/m);
    assert.match(nginx, /^ {4}match u \{\n {8}send "PING\\r\\n";\n {8}expect "PONG";\n {4}\}$/m);
    const udp = fromYaml(yaml(`{ udp: true, passes: 2 }`));
    assert.match(writeYamlConfig(udp), /^ {6}health_check: \{ passes: 2, udp: true \}$/m);
    assert.match(writeNginxConfig(udp), /^ {8}health_check passes=2 udp;$/m);
  });

  test("a check on an upstream no server{} uses is noted in nginx.conf, which has no place for it", () => {
    const config = fromYaml(`
stream:
  upstreams:
    lonely: { servers: ["127.0.0.1:1"], health_check: {} }
    u: { servers: ["127.0.0.1:2"] }
  servers: [{ listen: 1, proxy_pass: u }]
`);
    assert.match(writeNginxConfig(config), /# health_check: not written/);
  });
});
