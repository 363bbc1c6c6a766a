// log_format, access_log, admin, state and drain in both spellings: the same model, nginx's
// errors, and `streamlb convert` round trips (as config-convert.test.ts does for the rest).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/core/config/errors.ts";
import type { Config } from "../../src/core/config/model.ts";
import { loadNginxConfig, parseUpstreamState } from "../../src/core/config/read-nginx/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { formatUpstreamState } from "../../src/core/state.ts";

function comparable(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === "loc" || key === "proxyPassLoc" || key === "file") return undefined;
      return value instanceof Map ? [...value.entries()] : value;
    }),
  );
}

const fromNginx = (text: string) => loadNginxConfig(text, "in.conf");
const fromYaml = (text: string) => loadYamlConfig(text, "in.yaml");

function nginxError(text: string): string {
  try {
    fromNginx(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected an error");
}

function yamlError(text: string): string {
  try {
    fromYaml(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected an error");
}

const NGINX = `
admin 127.0.0.1:9000 token=s3cret;
events {}
stream {
    log_format main '$remote_addr [$time_local] $status '
                    '$upstream_addr $upstream_connect_time';
    log_format js escape=json '{"addr":"$remote_addr","status":$status}';
    access_log /var/log/streamlb/access.log main buffer=32k flush=2s;
    upstream dyn {
        state /var/lib/streamlb/dyn.state;
        server 10.0.0.1:6000 weight=2 drain;
    }
    upstream empty { state /var/lib/streamlb/empty.state; }
    server { listen 8000; proxy_pass dyn; }
    server { listen 8001; proxy_pass empty; access_log off; }
    server { listen 8002; proxy_pass dyn; access_log /var/log/streamlb/js.log JS; access_log /var/log/streamlb/b.log basic; }
}
`;

const YAML = `
admin: { listen: "127.0.0.1:9000", token: s3cret }
stream:
  log_formats:
    main: "$remote_addr [$time_local] $status $upstream_addr $upstream_connect_time"
    js: { escape: json, format: '{"addr":"$remote_addr","status":$status}' }
  access_log: { path: /var/log/streamlb/access.log, format: main, buffer: 32k, flush: 2s }
  upstreams:
    dyn:
      state: /var/lib/streamlb/dyn.state
      servers: [{ address: "10.0.0.1:6000", weight: 2, drain: true }]
    empty: { state: /var/lib/streamlb/empty.state }
  servers:
    - { listen: 8000, proxy_pass: dyn }
    - { listen: 8001, proxy_pass: empty, access_log: off }
    - listen: 8002
      proxy_pass: dyn
      access_log:
        - { path: /var/log/streamlb/js.log, format: js }
        - /var/log/streamlb/b.log
`;

describe("observability config", () => {
  test("nginx.conf: admin, log_format (joined strings, escape=), access_log levels, state, drain", () => {
    const { config, warnings } = fromNginx(NGINX);
    assert.deepEqual(warnings, []);
    assert.deepEqual({ ...config.admin, loc: undefined }, { host: "127.0.0.1", port: 9000, token: "s3cret", loc: undefined });
    const main = config.stream.logFormats.get("main")!;
    assert.equal(main.format, "$remote_addr [$time_local] $status $upstream_addr $upstream_connect_time");
    assert.equal(main.escape, "default");
    assert.equal(config.stream.logFormats.get("js")!.escape, "json");
    const logs = config.stream.servers.map((s) => s.accessLog.map((l) => [l.path, l.format, l.bufferSize, l.flushMs]));
    assert.deepEqual(logs, [
      [["/var/log/streamlb/access.log", "main", 32 * 1024, 2000]],
      [],
      [
        ["/var/log/streamlb/js.log", "js", null, null],
        ["/var/log/streamlb/b.log", "basic", null, null],
      ],
    ]);
    const dyn = config.stream.upstreams.get("dyn")!;
    assert.equal(dyn.state, "/var/lib/streamlb/dyn.state");
    assert.deepEqual(dyn.servers.map((s) => [s.address, s.weight, s.drain]), [["10.0.0.1:6000", 2, true]]);
    assert.deepEqual(config.stream.upstreams.get("empty")!.servers, [], "an upstream with state may have no servers");
  });

  test("YAML says the same thing", () => {
    assert.deepEqual(comparable(fromYaml(YAML)), comparable(fromNginx(NGINX).config));
  });

  test("convert round trips: nginx → YAML → same, YAML → nginx → same, built-in formats included", () => {
    for (const config of [fromNginx(NGINX).config, fromYaml(YAML)]) {
      const yaml = writeYamlConfig(config);
      assert.deepEqual(comparable(fromYaml(yaml)), comparable(config), yaml);
      const nginx = writeNginxConfig(config);
      assert.deepEqual(comparable(fromNginx(nginx).config), comparable(config), nginx);
    }
    // nginx has no built-in formats: the nginx.conf written defines the ones it uses, so
    // nginx itself could run it, and streamlb reads that definition back as the built-in.
    const nginx = writeNginxConfig(fromYaml(YAML));
    assert.match(nginx, /^ {4}log_format basic "\$remote_addr \[\$time_local\] \$protocol \$status/m);
    assert.doesNotMatch(nginx, /log_format json/);
    assert.match(nginx, /^admin 127\.0\.0\.1:9000 token=s3cret;$/m);
    // The access_log most servers have is written once in stream{}; the others say theirs, or off.
    assert.match(nginx, /^ {4}access_log \/var\/log\/streamlb\/access\.log main buffer=32k flush=2s;$/m);
    assert.match(nginx, /^ {8}access_log off;$/m);
    assert.match(writeYamlConfig(fromYaml(YAML)), /^ {6}access_log: off$/m);
    assert.match(nginx, /^ {8}state \/var\/lib\/streamlb\/dyn\.state;$/m);
    assert.match(nginx, /server 10\.0\.0\.1:6000 weight=2 drain;/);
  });

  test("an access_log without a format uses the built-in basic; a format may shadow a built-in name", () => {
    const c = fromYaml(`
stream:
  log_formats: { json: "$status" }
  upstreams: { u: { servers: ["127.0.0.1:1"] } }
  servers: [{ listen: 1, proxy_pass: u, access_log: [/a.log, { path: /b.log, format: JSON }] }]
`);
    assert.deepEqual(c.stream.servers[0]!.accessLog.map((l) => l.format), ["basic", "json"]);
    assert.equal(c.stream.logFormats.get("json")!.format, "$status");
    const n = fromNginx(
      "events{} stream { upstream u { server 127.0.0.1:1; } server { listen 1; proxy_pass u; access_log /a.log; } }",
    );
    assert.equal(n.config.stream.servers[0]!.accessLog[0]!.format, "basic");
  });

  test("nginx's errors", () => {
    const wrap = (body: string, main = "") =>
      `${main}\nevents {}\nstream {\n upstream u { server 127.0.0.1:1; }\n ${body}\n server { listen 1; proxy_pass u; }\n}\n`;
    assert.equal(nginxError(wrap("log_format a '$nope';")), `unknown "nope" variable in in.conf:5`);
    assert.equal(nginxError(wrap("log_format a x; log_format a y;")), `duplicate "log_format" name "a" in in.conf:5`);
    assert.equal(nginxError(wrap("log_format a escape=xml x;")), `unknown log format escaping "xml" in in.conf:5`);
    assert.equal(nginxError(wrap("access_log /a.log nope;")), `unknown log format "nope" in in.conf:5`);
    assert.equal(
      nginxError(wrap("access_log /a.log basic flush=1s;")),
      `no buffer is defined for access_log "/a.log" in in.conf:5`,
    );
    assert.equal(nginxError(wrap("access_log /a.log basic buffer=0;")), `invalid buffer size "0" in in.conf:5`);
    assert.equal(nginxError(wrap("access_log off basic;")), `invalid parameter "basic" in in.conf:5`);
    assert.equal(nginxError(wrap("access_log /a.log basic bogus;")), `invalid parameter "bogus" in in.conf:5`);
    assert.equal(nginxError(wrap("", "admin 9000 secret;")), `invalid parameter "secret" in in.conf:1`);
    assert.equal(nginxError(wrap("", "admin foo:bar;")).startsWith(`invalid address "foo:bar" in "admin" directive`), true);
    assert.equal(nginxError(wrap("", "admin 1; admin 2;")), `"admin" directive is duplicate in in.conf:1`);
    assert.equal(nginxError(wrap("admin 1;")), `"admin" directive is not allowed here in in.conf:5`);
    // A format must be defined before an access_log names it, as nginx reads in order.
    assert.equal(nginxError(wrap("access_log /a.log late; log_format late x;")), `unknown log format "late" in in.conf:5`);
  });

  test("gzip, if= and syslog access logs are read without a warning (none is ignored)", () => {
    const { warnings } = fromNginx(
      "events{} stream { log_format f '$ssl_preread_server_name'; upstream u { server 127.0.0.1:1; } server { listen 1; proxy_pass u; access_log /a.log f gzip if=$x; access_log syslog:server=127.0.0.1 f; } }",
    );
    assert.deepEqual(warnings.map((w) => w.message), []);
  });

  test("YAML errors carry line and column", () => {
    const base = (stream: string, top = "") =>
      `${top}\nstream:\n${stream}\n  upstreams: { u: { servers: ["127.0.0.1:1"] } }\n  servers: [{ listen: 1, proxy_pass: u }]\n`;
    assert.equal(yamlError(base(`  log_formats: { a: "$nope" }`)), `unknown "nope" variable in in.yaml:3:18`);
    assert.equal(yamlError(base(`  access_log: { path: /a.log, format: nope }`)), `unknown log format "nope" in in.yaml:3:39`);
    assert.match(
      yamlError(base(`  access_log: { path: /a.log, flush: 1s }`)),
      /^no buffer is defined for access_log "\/a\.log" in in\.yaml:3:/,
    );
    assert.match(yamlError(base("", `admin: { listen: "nope" }`)), /^invalid admin listen "nope"/);
    assert.match(yamlError(base("", `admin: { token: x }`)), /^admin needs a listen address/);
  });

  test("admin listen: a bare port is loopback; * is every address; port 0 asks the system", () => {
    const admin = (listen: string) =>
      fromYaml(
        `admin: { listen: "${listen}" }\nstream: { upstreams: { u: { servers: ["127.0.0.1:1"] } }, servers: [{ listen: 1, proxy_pass: u }] }`,
      )
        .admin!;
    assert.deepEqual([admin("9000").host, admin("9000").port], ["127.0.0.1", 9000]);
    assert.equal(admin("*:9000").host, "0.0.0.0");
    assert.equal(admin("[::1]:9000").host, "::1");
    assert.equal(admin("127.0.0.1:0").port, 0);
  });

  test("a state file is `server` lines, read back with nginx's checks", () => {
    const servers = fromYaml(YAML).stream.upstreams.get("dyn")!.servers;
    const text = formatUpstreamState([...servers, {
      ...servers[0]!,
      address: "10.0.0.2:6000",
      host: "10.0.0.2",
      backup: true,
      drain: false,
      down: true,
    }]);
    assert.match(text, /^server 10\.0\.0\.1:6000 weight=2 drain;\nserver 10\.0\.0\.2:6000 weight=2 backup down;\n$/m);
    const back = parseUpstreamState(text, "s.state");
    assert.deepEqual(
      back.map((s) => [s.address, s.weight, s.backup, s.down, s.drain]),
      [
        ["10.0.0.1:6000", 2, false, false, true],
        ["10.0.0.2:6000", 2, true, true, false],
      ],
    );
    assert.throws(() => parseUpstreamState("server 10.0.0.1:1 bogus;", "s.state"), /invalid parameter "bogus" in s\.state:1/);
    assert.throws(() => parseUpstreamState("least_conn;", "s.state"), /"least_conn" does not belong in a state file/);
  });
});
