// error_log as nginx has it: several per level (main, stream{}, server{}), each with its own
// level; a server's own lines (else stream{}'s) take its sessions' lines instead of the main
// logs; `syslog:server=…` sends RFC 3164 datagrams with nginx's header. Read from both
// spellings, written back by both writers, and delivered by the sinks to the right places.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config, ServerConfig } from "../../src/core/config/model.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import { parseSyslogTarget, syslogHeader, syslogTime } from "../../src/core/config/values/syslog-target.ts";
import { writeNginxConfig } from "../../src/core/config/write/nginx.ts";
import { writeYamlConfig } from "../../src/core/config/write/yaml.ts";
import { prefixPaths } from "../../src/core/config/prefix-paths.ts";
import { ErrorLogSet, MainErrorLogs, mainErrorLogs, openLogTarget } from "../../src/core/error-log-sinks.ts";
import type { DatagramSocket, LogFile, Runtime } from "../../src/core/runtime.ts";
import { ServerErrorLogs } from "../../src/core/server-error-logs.ts";

const CONF = `error_log logs/main.log;
error_log stderr info;
error_log syslog:server=127.0.0.1:5514,facility=local3,tag=lb info;
events {}
stream {
    error_log logs/stream.log notice;
    server { listen 1; return a; }
    server { listen 2; return b; error_log logs/own.log debug; error_log syslog:server=[::1],nohostname warn; }
}
`;
const load = (text: string) => loadNginxConfig(text, "/etc/lb.conf").config;
const errorOf = (text: string) => {
  try {
    load(text);
  } catch (e) {
    return (e as Error).message;
  }
  return "loaded";
};
const logsOf = (c: Config) => ({
  main: mainErrorLogs(c),
  servers: c.stream.servers.map((s) => s.errorLogs ?? null),
});

/** A runtime whose files and UDP sockets record what they are given. */
function recordingRuntime() {
  const files = new Map<string, string[]>();
  const opened: string[] = [];
  const closed: string[] = [];
  const datagrams: string[] = [];
  const stderr: string[] = [];
  const runtime = {
    hostname: "Box.Example",
    pid: 7,
    writeStderr: (t: string) => void stderr.push(t),
    async openLogFile(path: string): Promise<LogFile> {
      if (path.includes("missing/")) throw new Error("No such file or directory");
      opened.push(path);
      const lines = files.get(path) ?? [];
      files.set(path, lines);
      return {
        write: (t) => void lines.push(t),
        append: async () => {},
        reopen: async () => {},
        close: async () => void closed.push(path),
      };
    },
    async connectDatagram(target: { host: string; port: number }): Promise<DatagramSocket> {
      return {
        localAddress: "127.0.0.1",
        localPort: 1,
        send: (d) => (datagrams.push(`${target.host}:${target.port} ${new TextDecoder().decode(d)}`), "sent"),
        close: () => {},
      };
    },
  } as unknown as Runtime;
  return { runtime, files, opened, closed, datagrams, stderr };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("error_log: reading and writing", () => {
  test("several per level, levels per line (error unless given); servers inherit stream{}'s or use their own", () => {
    const c = load(CONF);
    assert.deepEqual(logsOf(c), {
      main: [
        { path: "logs/main.log", level: "error" },
        { path: "stderr", level: "info" },
        { path: "syslog:server=127.0.0.1:5514,facility=local3,tag=lb", level: "info" },
      ],
      servers: [
        [{ path: "logs/stream.log", level: "notice" }],
        [{ path: "logs/own.log", level: "debug" }, { path: "syslog:server=[::1],nohostname", level: "warn" }],
      ],
    });
    const noStream = load(CONF.replace("error_log logs/stream.log notice;", ""));
    assert.equal(noStream.stream.servers[0]!.errorLogs, undefined, "no error_log: the main logs");
  });

  test("both writers give the same logs back, and relative files resolve against the prefix", () => {
    const c = load(CONF);
    assert.deepEqual(logsOf(load(writeNginxConfig(c))), logsOf(c));
    assert.deepEqual(logsOf(loadYamlConfig(writeYamlConfig(c), "lb.yaml")), logsOf(c));
    const p = prefixPaths(c, (path) => (path.startsWith("/") ? path : `/srv/${path}`));
    assert.deepEqual(mainErrorLogs(p).map((l) => l.path), [
      "/srv/logs/main.log",
      "stderr",
      "syslog:server=127.0.0.1:5514,facility=local3,tag=lb",
    ]);
    assert.deepEqual(p.stream.servers.map((s) => s.errorLogs!.map((l) => l.path)), [
      ["/srv/logs/stream.log"],
      ["/srv/logs/own.log", "syslog:server=[::1],nohostname"],
    ]);
  });

  test("YAML: one mapping or a list, at the top, in stream and in a server", () => {
    const c = loadYamlConfig(
      `error_log: [{ path: a.log }, { path: "syslog:server=127.0.0.1", level: info }]
stream:
  error_log: { path: s.log, level: warn }
  servers:
    - { listen: 1, return: x }
    - { listen: 2, return: y, error_log: [{ path: stderr, level: debug }] }
`,
      "lb.yaml",
    );
    assert.deepEqual(logsOf(c), {
      main: [{ path: "a.log", level: "error" }, { path: "syslog:server=127.0.0.1", level: "info" }],
      servers: [[{ path: "s.log", level: "warn" }], [{ path: "stderr", level: "debug" }]],
    });
  });

  test("bad lines are refused in nginx's words, with their place", () => {
    const at = (line: string) => errorOf(`events {}\nstream {\nserver { listen 1; return x;\n${line} }\n}\n`);
    assert.equal(at("error_log x.log loud;"), `invalid log level "loud" in /etc/lb.conf:4`);
    assert.equal(at("error_log x.log info warn;"), `duplicate log level "warn" in /etc/lb.conf:4`);
    assert.equal(at("error_log syslog:tag=x;"), `no syslog server specified in /etc/lb.conf:4`);
    assert.equal(at("error_log syslog:server=127.0.0.1,x=1;"), `unknown syslog parameter "x=1" in /etc/lb.conf:4`);
    assert.equal(at("error_log syslog:server=127.0.0.1,facility=lp0;"), `unknown syslog facility "lp0" in /etc/lb.conf:4`);
    assert.equal(
      at("error_log syslog:server=127.0.0.1,tag=a-b;"),
      `syslog "tag" only allows alphanumeric characters and underscore in /etc/lb.conf:4`,
    );
    assert.equal(at("error_log syslog:server=127.0.0.1:0;"), `invalid port in syslog server "127.0.0.1:0" in /etc/lb.conf:4`);
    assert.match(
      at("error_log syslog:server=logs.example;"),
      /^host names in syslog server "logs\.example" are not supported yet/,
    );
    assert.match(
      errorOf(`error_log syslog:server=1.2.3.4,server=1.2.3.5;\nevents {}\nstream {}\n`),
      /^duplicate syslog "server"/,
    );
  });
});

describe("error_log: where lines go", () => {
  test("each line of a set takes what its level lets through", async () => {
    const r = recordingRuntime();
    const main = await MainErrorLogs.open(r.runtime, [
      { path: "/l/info.log", level: "info" },
      { path: "/l/emerg.log", level: "emerg" },
      { path: "/l/info.log", level: "error" },
    ]);
    assert.equal(main.set.level, "info", "the most verbose line decides what a logger lets through");
    main.set.write("i\n", "info");
    main.set.write("d\n", "debug");
    main.set.write("e\n", "error");
    assert.deepEqual(r.opened, ["/l/info.log", "/l/emerg.log"], "a file named twice is opened once");
    assert.deepEqual(r.files.get("/l/info.log"), ["i\n", "e\n", "e\n"]);
    assert.deepEqual(r.files.get("/l/emerg.log"), []);
    await main.close();
    assert.deepEqual(r.closed.sort(), ["/l/emerg.log", "/l/info.log"]);
  });

  test("syslog: one datagram a line, nginx's header, the line's level as severity, the lines before the socket kept", async () => {
    const r = recordingRuntime();
    const t = await openLogTarget(r.runtime, "syslog:server=127.0.0.1:5514,tag=lb");
    t.write("2026/12/01 03:04:05 [error] 7#0: *1 oops\n", "error");
    t.write("2026/12/01 03:04:05 [info] 7#0: *1 fine\n", "info");
    await settle();
    t.write("2026/12/01 03:04:05 [emerg] 7#0: down\n", "emerg");
    const header = /^127\.0\.0\.1:5514 <(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d box\.example lb: /;
    assert.deepEqual(r.datagrams.map((d) => Number(header.exec(d)?.[1])), [23 * 8 + 3, 23 * 8 + 6, 23 * 8 + 0]);
    assert.deepEqual(r.datagrams.map((d) => d.replace(header, "")), [
      "2026/12/01 03:04:05 [error] 7#0: *1 oops",
      "2026/12/01 03:04:05 [info] 7#0: *1 fine",
      "2026/12/01 03:04:05 [emerg] 7#0: down",
    ]);
  });

  test("the syslog header: facility, nohostname, and RFC 3164's space-padded day", () => {
    const t = parseSyslogTarget("syslog:server=[::1]:9,facility=local0,nohostname");
    assert.ok(!("error" in t));
    assert.deepEqual([t.host, t.port, t.facility, t.severity, t.tag], ["::1", 9, 16, 6, "nginx"]);
    const d = new Date(2026, 0, 5, 7, 8, 9);
    assert.equal(syslogTime(d), "Jan  5 07:08:09");
    assert.equal(syslogHeader(t, 4, "h", d), "<132>Jan  5 07:08:09 nginx: ");
    assert.equal(syslogTime(new Date(2026, 11, 25, 23, 59, 0)), "Dec 25 23:59:00");
  });

  test("a server's own logger writes its lines to its logs only; a reload closes the files it no longer names", async () => {
    const r = recordingRuntime();
    const logs = new ServerErrorLogs(r.runtime);
    const c = prefixPaths(load(CONF), (p) => `/x/${p}`);
    const prepared = await logs.prepare(c);
    await prepared.commit();
    const [a, b] = c.stream.servers as [ServerConfig, ServerConfig];
    const la = prepared.errorLogFor(a)!, lb = prepared.errorLogFor(b)!;
    assert.equal(la.enabled("info"), false, "stream{}'s log is at notice");
    la.log("notice", "*1 a");
    lb.log("debug", "*2 b");
    lb.log("error", "*3 c");
    await settle();
    const text = (p: string) => (r.files.get(p) ?? []).map((l) => l.replace(/^\S+ \S+ /, ""));
    assert.deepEqual(text("/x/logs/stream.log"), ["[notice] 7#0: *1 a\n"]);
    assert.deepEqual(text("/x/logs/own.log"), ["[debug] 7#0: *2 b\n", "[error] 7#0: *3 c\n"]);
    assert.deepEqual(r.datagrams.map((d) => d.replace(/^.*?nginx: \S+ \S+ /, "")), ["[error] 7#0: *3 c"]);
    assert.ok(r.datagrams[0]!.startsWith("::1:514 <187>"), r.datagrams[0]);

    const next = prefixPaths(load(CONF.replace(" error_log logs/own.log debug;", "")), (p) => `/x/${p}`);
    await (await logs.prepare(next)).commit();
    assert.deepEqual(r.closed, ["/x/logs/own.log"]);
    assert.deepEqual(r.opened, ["/x/logs/stream.log", "/x/logs/own.log"], "a file that stays stays open");
    const failed = await logs.prepare(load(CONF.replace("logs/stream.log", "/missing/x.log"))).then(
      () => "opened",
      (e: Error) => e.message,
    );
    assert.equal(failed, `open() "/missing/x.log" failed (No such file or directory)`);
    await logs.close();
  });

  test("a config without server error logs gives no server its own logger (the main logs take its lines)", async () => {
    const r = recordingRuntime();
    const c = load(`events {}\nstream { server { listen 1; return x; } }\n`);
    const prepared = await new ServerErrorLogs(r.runtime).prepare(c);
    assert.equal(prepared.errorLogFor(c.stream.servers[0]!), null);
    assert.deepEqual(r.opened, []);
    assert.ok(new ErrorLogSet([]).level === "emerg");
  });
});
