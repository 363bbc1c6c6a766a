// Over real sockets, on every target: `access_log syslog:server=…` sends each session's line
// to a UDP receiver on loopback as one datagram, with nginx's header (<190> = local7.info,
// the time, the host name, `nginx: `) and the formatted line with no newline; `if=` applies.
import assert from "node:assert/strict";
import net from "node:net";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";
import { startUdpSink, type UdpBackend } from "../support/udp.ts";

/** Connects, reads until the server closes (5 s at most). */
function fetchReply(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no end from ${port}: got ${got}`))), 5000);
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (got += d));
    socket.on("error", (e) => (clearTimeout(timer), reject(e)));
    socket.on("close", () => (clearTimeout(timer), resolve(got)));
  });
}

/** Polls until the sink holds `count` datagrams from `from` on (bounded: 5 s), then returns them as text. */
async function datagrams(sink: UdpBackend, from: number, count: number): Promise<string[]> {
  for (let i = 0; i < 100 && sink.received.length - from < count; i++) await new Promise((r) => setTimeout(r, 50));
  return sink.received.slice(from).map((d) => d.toString("latin1"));
}

describe("access_log to syslog", () => {
  let sink: UdpBackend;
  before(async () => {
    sink = await startUdpSink("access-syslog");
  });
  after(async () => {
    await sink.close();
  });

  for (const target of TARGETS) {
    test(`${target}: one datagram per logged session, nginx's header, the formatted line`, async () => {
      const [logged, skipped] = (await freePorts(2)) as [number, number];
      const file = writeConfig(
        `error_log stderr notice;
events {}
stream {
    log_format line "$server_port $status \\"$remote_addr\\"";
    map $server_port $logme { ${skipped} 0; default 1; }
    access_log syslog:server=127.0.0.1:${sink.port} line if=$logme;
    server { listen 127.0.0.1:${logged}; return "a\\n"; }
    server { listen 127.0.0.1:${skipped}; return "b\\n"; }
}
`,
        "access-syslog.conf",
      );
      const from = sink.received.length;
      const lb = await startStreamlb(target, file);
      try {
        assert.equal(await fetchReply(skipped), "b\n");
        assert.equal(await fetchReply(logged), "a\n");
        assert.equal(await fetchReply(logged), "a\n");
        const got = await datagrams(sink, from, 2);
        const host = hostname().toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const line = new RegExp(
          `^<190>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${host} nginx: ${logged} 200 "127\\.0\\.0\\.1"$`,
        );
        assert.equal(got.length, 2, `two sessions logged, the if=$logme one skipped: ${JSON.stringify(got)}`);
        for (const d of got) assert.match(d, line);
      } finally {
        await lb.stop();
      }
    });
  }
});
