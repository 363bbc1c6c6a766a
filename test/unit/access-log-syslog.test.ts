// access_log syslog:server=…: both readers accept it (and refuse what nginx refuses, in its
// words, at file:line), convert round trips it, and a logged session becomes one datagram with
// nginx's header and no newline, at the target's facility and severity.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AccessLogs } from "../../src/core/access-log.ts";
import { ConfigError } from "../../src/core/config/errors.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import type { Logger } from "../../src/core/log.ts";
import type { ConnectTarget } from "../../src/core/runtime.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";

const nginx = (log: string) =>
  `events {}\nstream {\n  log_format st "$status $server_port";\n  server {\n    listen 1;\n    return x;\n    ${log}\n  }\n}\n`;

function nginxError(text: string): string {
  try {
    loadNginxConfig(text, "in.conf");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected an error");
}

function yamlError(text: string): string {
  try {
    loadYamlConfig(text, "in.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("expected an error");
}

const yaml = (log: string) => `stream:\n  servers:\n    - listen: 1\n      return: x\n      access_log: ${log}\n`;

describe("access_log syslog:", () => {
  test("both readers accept it without a warning, as the same model, and convert round trips it", () => {
    const path = "syslog:server=127.0.0.1:5140,facility=local1,severity=notice,tag=lb,nohostname";
    const fromNginx = loadNginxConfig(nginx(`access_log ${path} st if=$status;`), "in.conf");
    assert.deepEqual(fromNginx.warnings, []);
    const log = fromNginx.config.stream.servers[0]!.accessLog[0]!;
    assert.equal(log.path, path);
    assert.equal(log.format, "st");
    assert.equal(log.condition, "$status");
    const fromYaml = loadYamlConfig(yaml(`{ path: "${path}", if: $status }`), "in.yaml");
    assert.equal(fromYaml.stream.servers[0]!.accessLog[0]!.path, path);
    const again = loadNginxConfig(writeNginxConfig(fromNginx.config), "out.conf").config;
    assert.deepEqual(again.stream.servers[0]!.accessLog.map((l) => [l.path, l.format, l.condition]), [[path, "st", "$status"]]);
    const viaYaml = loadYamlConfig(writeYamlConfig(fromNginx.config), "out.yaml");
    assert.deepEqual(viaYaml.stream.servers[0]!.accessLog.map((l) => [l.path, l.format]), [[path, "st"]]);
  });

  test("nginx's refusals, with file and line", () => {
    assert.equal(
      nginxError(nginx("access_log syslog:server=127.0.0.1 st buffer=4k;")),
      "logs to syslog cannot be buffered in in.conf:7",
    );
    assert.equal(
      nginxError(nginx("access_log syslog:server=127.0.0.1 st gzip;")),
      "logs to syslog cannot be buffered in in.conf:7",
    );
    assert.equal(nginxError(nginx("access_log syslog:tag=x st;")), "no syslog server specified in in.conf:7");
    assert.equal(
      nginxError(nginx("access_log syslog:server=127.0.0.1,facility=nope st;")),
      `unknown syslog facility "nope" in in.conf:7`,
    );
    assert.equal(
      nginxError(nginx("access_log syslog:server=127.0.0.1,severity=nope;")),
      `unknown syslog severity "nope" in in.conf:7`,
    );
    assert.equal(
      nginxError(nginx("access_log syslog:server=127.0.0.1,bogus st;")),
      `unknown syslog parameter "bogus" in in.conf:7`,
    );
    assert.match(yamlError(yaml(`"syslog:server=127.0.0.1,tag=a-b"`)), /^syslog "tag" only allows .* in in\.yaml:5:/);
    assert.match(
      yamlError(yaml(`{ path: "syslog:server=127.0.0.1", buffer: 4k }`)),
      /^logs to syslog cannot be buffered in in\.yaml:5:/,
    );
  });

  test("a session is one datagram: <PRI>, time, host, tag, the formatted line without its newline", async () => {
    const sent: { target: ConnectTarget; text: string }[] = [];
    let opened = 0;
    const runtime = {
      pid: 1,
      hostname: "Box.Example",
      openLogFile: () => {
        opened++;
        return Promise.reject(new Error("a syslog log opens no file"));
      },
      connectDatagram: (target: ConnectTarget) =>
        Promise.resolve({
          localAddress: "127.0.0.1",
          localPort: 1,
          send: (d: Uint8Array) => (sent.push({ target, text: new TextDecoder().decode(d) }), "sent" as const),
          close: () => {},
        }),
    };
    const logger: Logger = { enabled: () => true, log: () => {} };
    const logs = new AccessLogs(runtime, logger);
    const text = nginx(
      "access_log syslog:server=127.0.0.1:5140 st; access_log syslog:server=[::1]:5141,facility=local1,severity=notice,tag=lb,nohostname st if=$x;",
    ).replace("log_format", "map $server_port $x { 2 1; default 0; } log_format");
    const config = loadNginxConfig(text, "in.conf").config;
    const prepared = await logs.prepare(config, compileStreamVariables(config.stream).registry);
    await prepared.commit();
    const client = { remoteAddress: "127.0.0.9", remotePort: 40000, localAddress: "127.0.0.1", localPort: 1 };
    const outcome = { status: 200 as const, upstreamAddrs: [], upstreamConnectMs: [], upstreamSessionMs: [], relay: null };
    const session = prepared.forServer(config.stream.servers[0]!)!;
    session.log({ id: 1, client, startMs: 0, endMs: 0, outcome });
    session.log({ id: 2, client: { ...client, localPort: 2 }, startMs: 0, endMs: 0, outcome });
    for (let i = 0; i < 100 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    const time = "[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d";
    const local7 = sent.filter((s) => s.target.port === 5140);
    assert.deepEqual(local7.map((s) => s.target.host), ["127.0.0.1", "127.0.0.1"]);
    assert.match(local7[0]!.text, new RegExp(`^<190>${time} box\\.example nginx: 200 1$`));
    assert.match(local7[1]!.text, new RegExp(`^<190>${time} box\\.example nginx: 200 2$`));
    // local1.notice = 17*8+5; only the session on port 2 passes `if=$x`.
    const other = sent.filter((s) => s.target.port === 5141);
    assert.deepEqual(other.map((s) => s.target.host), ["::1"]);
    assert.match(other[0]!.text, new RegExp(`^<141>${time} lb: 200 2$`));
    assert.equal(opened, 0);
    await logs.close();
  });
});
