// The access log and the error-log words operators grep for, over real sockets on every
// target: a served session, one refused for want of a live server (502), one whose connect
// timed out (502), the built-in JSON format, -s reopen after logrotate moved the file, and
// $upstream_first_byte_time from a backend that answers late and one that never does.
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Backend, closedPort, freePorts, startBackend, startNamedEcho, startUnaccepting } from "../support/backends.ts";
import { runStreamlb, startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, sends `send` after the greeting, reads until `expect` bytes came back, closes. */
function served(port: number, send: string, expect: number): Promise<{ localPort: number; got: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    let sent = false;
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      if (!sent && got.includes("\n")) {
        sent = true;
        s.write(send);
      }
      if (got.length >= expect) {
        const localPort = s.localPort!;
        s.end();
        s.on("close", () => resolve({ localPort, got }));
      }
    });
    s.on("error", reject);
  });
}

/** Connects and waits for streamlb to close the connection; returns how long that took. */
function refused(port: number): Promise<{ localPort: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(port, "127.0.0.1");
    let localPort = 0;
    s.on("connect", () => (localPort = s.localPort!));
    s.on("data", () => reject(new Error("a refused session got data")));
    s.on("close", () => resolve({ localPort, ms: Date.now() - t0 }));
    s.on("error", () => undefined);
  });
}

/** Connects, sends a byte and its FIN, and waits for streamlb to close the connection. */
function sendAndClose(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let localPort = 0;
    s.on("connect", () => ((localPort = s.localPort!), s.end("x")));
    s.on("error", () => undefined);
    s.on("close", () => resolve(localPort));
  });
}

/** The log's lines once at least `n` are there (streamlb flushes every 100 ms here). */
async function lines(path: string, n: number, timeoutMs = 5000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    const all = text.split("\n").filter((l) => l !== "");
    if (all.length >= n) return all;
    if (Date.now() > until) throw new Error(`${path} has ${all.length} lines, expected ${n}:\n${text}`);
    await sleep(25);
  }
}

const FULL = "$remote_addr $remote_port $server_addr $server_port $protocol $status $bytes_sent $bytes_received " +
  "$session_time $connection [$time_local] $time_iso8601 $msec " +
  '"$upstream_addr" "$upstream_bytes_sent" "$upstream_bytes_received" "$upstream_connect_time" "$upstream_session_time"';

const LINE = new RegExp(
  "^127\\.0\\.0\\.1 (\\d+) 127\\.0\\.0\\.1 (\\d+) TCP (\\d{3}) (\\d+) (\\d+) (\\d+\\.\\d{3}) (\\d+) " +
    "\\[(\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4})\\] (\\S+) (\\d+\\.\\d{3}) " +
    '"([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$',
);

interface Entry {
  remotePort: number;
  serverPort: number;
  status: number;
  bytesSent: number;
  bytesReceived: number;
  sessionTime: number;
  connection: number;
  timeLocal: string;
  iso: string;
  msec: number;
  upstreamAddr: string;
  upstreamSent: string;
  upstreamReceived: string;
  connectTime: string;
  upstreamSessionTime: string;
}

function parse(line: string): Entry {
  const m = LINE.exec(line);
  assert.ok(m, `not a line of the format: ${line}`);
  return {
    remotePort: Number(m[1]),
    serverPort: Number(m[2]),
    status: Number(m[3]),
    bytesSent: Number(m[4]),
    bytesReceived: Number(m[5]),
    sessionTime: Number(m[6]),
    connection: Number(m[7]),
    timeLocal: m[8]!,
    iso: m[9]!,
    msec: Number(m[10]),
    upstreamAddr: m[11]!,
    upstreamSent: m[12]!,
    upstreamReceived: m[13]!,
    connectTime: m[14]!,
    upstreamSessionTime: m[15]!,
  };
}

for (const target of TARGETS) {
  describe(`access log on ${target}`, () => {
    let echo: Backend;
    let late: Backend;
    let quiet: Backend;
    let blocked: Awaited<ReturnType<typeof startUnaccepting>>;
    let dead: number;
    let lb: Streamlb;
    let dir: string;
    let ports: number[];
    let access: string;
    let jsonLog: string;

    before(async () => {
      echo = await startNamedEcho("a");
      // Greets 300 ms after the connect, then echoes; `quiet` reads and never writes.
      late = await startBackend("late", 0, (s) => {
        const timer = setTimeout(() => (s.write("late\n"), s.pipe(s)), 300);
        s.on("close", () => clearTimeout(timer));
      });
      quiet = await startBackend("quiet", 0, (s) => s.resume());
      blocked = await startUnaccepting();
      dead = await closedPort();
      ports = await freePorts(7);
      const [served, none, slow, refusing, json, lateP, quietP] = ports as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const file = writeConfig(`
error_log: { path: stderr, level: info }
stream:
  log_formats:
    full: '${FULL}'
    times: '$remote_port $upstream_connect_time $upstream_first_byte_time $upstream_session_time'
  access_log: { path: access.log, format: full, buffer: 64k, flush: 100ms }
  upstreams:
    ok: { servers: ["${echo.address}"] }
    none: { servers: [{ address: "127.0.0.1:${dead}", down: true }] }
    slow: { servers: ["${blocked.address}"] }
    refusing: { servers: ["127.0.0.1:${dead}"] }
  servers:
    - { listen: "127.0.0.1:${served}", proxy_pass: ok }
    - { listen: "127.0.0.1:${none}", proxy_pass: none }
    - { listen: "127.0.0.1:${slow}", proxy_pass: slow, proxy_connect_timeout: 200ms }
    - { listen: "127.0.0.1:${refusing}", proxy_pass: refusing }
    - listen: "127.0.0.1:${json}"
      proxy_pass: ok
      access_log: { path: json.log, format: json, buffer: 4k, flush: 100ms }
    - { listen: "127.0.0.1:${lateP}", proxy_pass: "${late.address}", access_log: { path: times.log, format: times } }
    - { listen: "127.0.0.1:${quietP}", proxy_pass: "${quiet.address}", access_log: { path: times.log, format: times } }
`);
      dir = dirname(file);
      access = join(dir, "access.log");
      jsonLog = join(dir, "json.log");
      lb = await startStreamlb(target, file);
    });

    after(async () => {
      await lb?.stop();
      await echo?.close();
      await late?.close();
      await quiet?.close();
      await blocked?.close();
    });

    test("a served session: 200, bytes both ways, times, and the server it went to", async () => {
      const before = Date.now();
      const { localPort, got } = await served(ports[0]!, "hello\n", "a\nhello\n".length);
      assert.equal(got, "a\nhello\n");
      const [line] = await lines(access, 1);
      const e = parse(line!);
      assert.equal(e.status, 200);
      assert.equal(e.remotePort, localPort, "$remote_port is the client's port");
      assert.equal(e.serverPort, ports[0]);
      assert.equal(e.bytesSent, 8, "greeting and echo went to the client");
      assert.equal(e.bytesReceived, 6);
      assert.equal(e.upstreamAddr, echo.address);
      assert.equal(e.upstreamSent, "6");
      assert.equal(e.upstreamReceived, "8");
      assert.match(e.connectTime, /^\d+\.\d{3}$/);
      assert.ok(Number(e.connectTime) < 1);
      assert.ok(e.sessionTime >= Number(e.upstreamSessionTime));
      assert.ok(e.connection >= 1);
      assert.ok(Math.abs(e.msec * 1000 - Date.now()) < 10_000 && e.msec * 1000 >= before - 1000);
      assert.equal(Math.floor(new Date(e.iso).getTime() / 1000), Math.floor(e.msec));
    });

    test("no live upstream: 502, the upstream's name, no connect time, and nginx's error line", async () => {
      const { localPort } = await refused(ports[1]!);
      const entry = (await lines(access, 2)).map(parse).find((x) => x.remotePort === localPort)!;
      assert.ok(entry);
      assert.equal(entry.status, 502);
      assert.equal(entry.upstreamAddr, "none");
      assert.equal(entry.connectTime, "-");
      assert.equal(entry.bytesSent, 0);
      assert.equal(entry.bytesReceived, 0);
      assert.match(
        lb.log(),
        new RegExp(
          `\\[error\\] \\d+#0: \\*\\d+ no live upstreams while connecting to upstream, client: 127\\.0\\.0\\.1, server: 127\\.0\\.0\\.1:${
            ports[1]
          }, upstream: "none"`,
        ),
      );
    });

    test("a connect that timed out (proxy_connect_timeout 200ms to a full accept queue): 502 after ~200ms", async () => {
      const { localPort, ms } = await refused(ports[2]!);
      assert.ok(ms >= 180 && ms < 3000, `closed after ${ms} ms`);
      const entry = (await lines(access, 3)).map(parse).find((x) => x.remotePort === localPort)!;
      assert.ok(entry);
      assert.equal(entry.status, 502);
      assert.equal(entry.upstreamAddr, blocked.address);
      assert.equal(entry.connectTime, "-", "it never connected");
      assert.ok(Number(entry.upstreamSessionTime) >= 0.18, `waited ${entry.upstreamSessionTime}`);
      assert.ok(entry.sessionTime >= 0.18);
      assert.match(
        lb.log(),
        new RegExp(
          `\\[error\\] \\d+#0: \\*\\d+ upstream timed out \\(110: Connection timed out\\) while connecting to upstream, client: 127\\.0\\.0\\.1, server: 127\\.0\\.0\\.1:${
            ports[2]
          }, upstream: "${blocked.address}"`,
        ),
      );
    });

    test("a refused connect: nginx's `connect() failed (111: Connection refused)` line, and 502", async () => {
      const { localPort } = await refused(ports[3]!);
      const entry = (await lines(access, 4)).map(parse).find((x) => x.remotePort === localPort)!;
      assert.equal(entry.status, 502);
      assert.equal(entry.upstreamAddr, `127.0.0.1:${dead}`);
      assert.match(
        lb.log(),
        new RegExp(
          `\\[error\\] \\d+#0: \\*\\d+ connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream, client: 127\\.0\\.0\\.1, server: 127\\.0\\.0\\.1:${
            ports[3]
          }, upstream: "127\\.0\\.0\\.1:${dead}"`,
        ),
      );
    });

    test("the built-in json format: one JSON object per session", async () => {
      const { localPort } = await served(ports[4]!, "hi\n", "a\nhi\n".length);
      const [line] = await lines(jsonLog, 1);
      const j = JSON.parse(line!) as Record<string, unknown>;
      assert.equal(j["status"], 200);
      assert.equal(j["remote_port"], localPort);
      assert.equal(j["upstream_addr"], echo.address);
      assert.equal(j["bytes_received"], 3);
      assert.equal(j["protocol"], "TCP");
      assert.equal(typeof j["session_time"], "number");
      const count = (await lines(access, 4)).length;
      assert.equal(count, 4, "a server with its own access_log does not write stream{}'s");
    });

    test("-s reopen after logrotate moved the file: new lines go to a new file", async () => {
      renameSync(access, `${access}.1`);
      const before = readFileSync(`${access}.1`, "utf8").split("\n").filter(Boolean).length;
      const r = await runStreamlb(target, ["-s", "reopen", "-p", dir, "-c", join(dir, "streamlb.yaml")]);
      assert.equal(r.code, 0, r.stderr);
      await lb.waitForLog(/reopening logs/);
      await sleep(200);
      await served(ports[0]!, "again\n", "a\nagain\n".length);
      const fresh = await lines(access, 1);
      assert.equal(fresh.length, 1);
      assert.equal(parse(fresh[0]!).bytesReceived, 6);
      assert.equal(
        readFileSync(`${access}.1`, "utf8").split("\n").filter(Boolean).length,
        before,
        "the moved file got nothing new",
      );
    });

    test("$upstream_first_byte_time: from the connect to the upstream's first byte; `-` when it sent none", async () => {
      const times = join(dir, "times.log");
      const { localPort, got } = await served(ports[5]!, "hi\n", "late\nhi\n".length);
      assert.equal(got, "late\nhi\n");
      const quietPort = await sendAndClose(ports[6]!);
      const entries = (await lines(times, 2)).map((l) => l.split(" "));
      const lateEntry = entries.find((e) => Number(e[0]) === localPort)!;
      assert.ok(lateEntry, entries.join("\n"));
      const [, connect, firstByte, session] = lateEntry.map(Number) as [number, number, number, number];
      assert.match(lateEntry[2]!, /^\d+\.\d{3}$/);
      // The backend greets 300 ms after it accepted, so the first byte cannot come sooner.
      assert.ok(firstByte >= 0.3, `first byte after ${firstByte} s`);
      assert.ok(firstByte >= connect && firstByte <= session, lateEntry.join(" "));
      const quietEntry = entries.find((e) => Number(e[0]) === quietPort)!;
      assert.ok(quietEntry, entries.join("\n"));
      assert.equal(quietEntry[2], "-", "the upstream never answered");
      assert.match(quietEntry[1]!, /^\d+\.\d{3}$/, "but it was connected");
    });
  });
}
