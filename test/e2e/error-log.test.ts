// Over real sockets, on every target: error_log in a server{} takes that server's session lines
// (a file and a syslog server), the main logs keep the rest, each at its own level; syslog
// datagrams carry nginx's header. Also what the config reads at load or per session that
// nginx-tests checks: set_real_ip_from with a host name, and $status 500 for a proxy_pass
// value no resolver can reach.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { runStreamlb, startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";
import { startUdpSink, type UdpBackend } from "../support/udp.ts";

/** Sends `data`, then reads until `done` says the reply is whole or the peer closes (5 s at most). */
function exchange(port: number, data: string, done: (got: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no end from ${port}: got ${got}`))), 5000);
    const finish = () => (clearTimeout(timer), socket.destroy(), resolve(got));
    socket.setEncoding("latin1");
    socket.on("connect", () => socket.write(data));
    socket.on("data", (d: string) => {
      got += d;
      if (done(got)) finish();
    });
    socket.on("error", (e) => (clearTimeout(timer), reject(e)));
    socket.on("close", finish);
  });
}

const read = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/** Polls until `get()` matches (bounded: 5 s), then returns what it gave. */
async function eventually(what: string, get: () => string, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = get();
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${what} never matched ${pattern}: ${get()}`);
}

describe("error_log per server, several per level, syslog; realip host names; $status 500", () => {
  let backend: Backend;
  let mainSyslog: UdpBackend;
  let serverSyslog: UdpBackend;
  before(async () => {
    backend = await startNamedEcho("b");
    mainSyslog = await startUdpSink("main-syslog");
    serverSyslog = await startUdpSink("server-syslog");
  });
  after(async () => {
    await Promise.all([backend.close(), mainSyslog.close(), serverSyslog.close()]);
  });

  for (const target of TARGETS) {
    test(`${target}: each server's lines in its own logs, the rest in the main ones`, async () => {
      const dir = tempDir();
      const [own, main, realip, status] = (await freePorts(4)) as [number, number, number, number];
      const file = writeConfig(
        `error_log stderr notice;
error_log ${dir}/main.log info;
error_log syslog:server=127.0.0.1:${mainSyslog.port},tag=lbtest notice;
events {}
stream {
    log_format st $status;
    server {
        listen 127.0.0.1:${own};
        proxy_pass ${backend.address};
        error_log ${dir}/own.log info;
        error_log syslog:server=127.0.0.1:${serverSyslog.port} info;
        error_log ${dir}/own-warn.log warn;
    }
    server { listen 127.0.0.1:${main}; return "main\\n"; }
    server { listen 127.0.0.1:${realip} proxy_protocol; set_real_ip_from localhost; return "$remote_addr\\n"; }
    server { listen 127.0.0.1:${status}; proxy_pass no-such-host.invalid:$remote_port; access_log ${dir}/status.log st; }
}
`,
        "error-log.conf",
      );
      const before = { main: mainSyslog.received.length, server: serverSyslog.received.length };
      const lb = await startStreamlb(target, file);
      try {
        assert.equal(await exchange(own, "ping", (got) => got === "b\nping"), "b\nping");
        assert.equal(await exchange(main, ""), "main\n");
        assert.equal(await exchange(realip, "PROXY TCP4 192.0.2.1 192.0.2.2 1234 5678\r\n"), "192.0.2.1\n");
        assert.equal(await exchange(status, ""), "");

        // The server's own file: its session from the first line to the byte counts.
        const ownLog = await eventually("own.log", () => read(`${dir}/own.log`), /bytes from\/to client:4\/6/);
        assert.match(
          ownLog,
          new RegExp(`\\[info\\] \\d+#0: \\*\\d+ client 127\\.0\\.0\\.1:\\d+ connected to 127\\.0\\.0\\.1:${own}\\n`),
        );
        assert.doesNotMatch(ownLog, new RegExp(`connected to 127\\.0\\.0\\.1:(${main}|${realip}|${status})`));
        assert.equal(read(`${dir}/own-warn.log`), "", "info lines stay out of a warn log");
        // Its syslog server: the same lines, one datagram each, with nginx's header.
        const ownDatagrams = await eventually(
          "the server's syslog",
          () => serverSyslog.received.slice(before.server).map((d) => d.toString()).join("\n"),
          /bytes from\/to client:4\/6/,
        );
        const host = hostname().toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const header = new RegExp(
          `^<190>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${host} nginx: \\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[info\\] `,
        );
        for (const d of ownDatagrams.split("\n")) assert.match(d, header);

        // The main file takes every other server's sessions, and not this one's.
        const mainLog = await eventually(
          "main.log",
          () => read(`${dir}/main.log`),
          new RegExp(`connected to 127\\.0\\.0\\.1:${status}`),
        );
        assert.match(mainLog, new RegExp(`client 127\\.0\\.0\\.1:\\d+ connected to 127\\.0\\.0\\.1:${main}\\n`));
        assert.match(mainLog, /no resolver defined to resolve no-such-host\.invalid/);
        assert.doesNotMatch(mainLog, new RegExp(`connected to 127\\.0\\.0\\.1:${own}\\n`));
        assert.match(mainLog, /\[notice\] \d+#0: nginx\/[.0-9]+ \(compatible; streamlb\//);
        // stderr is at notice: the info lines are not there, the notices are.
        assert.doesNotMatch(lb.log(), /connected to/);
        // The main syslog (at notice, tag lbtest): the listening notice, no session line.
        const mainDatagrams = await eventually(
          "the main syslog",
          () => mainSyslog.received.slice(before.main).map((d) => d.toString()).join("\n"),
          /listening on/,
        );
        assert.match(
          mainDatagrams,
          new RegExp(`^<189>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${host} lbtest: .*\\[notice\\]`),
        );
        assert.doesNotMatch(mainDatagrams, /connected to/);
        // nginx's $status for a value no resolver can reach: 500, not 502.
        assert.equal(await eventually("status.log", () => read(`${dir}/status.log`), /\n/), "500\n");
      } finally {
        await lb.stop();
      }
    });
  }

  for (const target of TARGETS) {
    test(`${target}: a name nothing resolves fails the start in nginx's words`, async () => {
      const file = writeConfig(
        `events {}\nstream {\n server { listen 127.0.0.1:1 proxy_protocol; return x; set_real_ip_from no-such-host.invalid; }\n}\n`,
        "bad.conf",
      );
      const r = await runStreamlb(target, ["-t", "-c", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`host not found in set_real_ip_from "no-such-host\\.invalid" in ${file}:3`));
    });
  }
});
