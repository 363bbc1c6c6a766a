// The access log without sockets: nginx's variables and escaping for served, refused and
// timed-out sessions, formats compiled once, and batched, ordered, reopenable writes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AccessLogs, compileLogFormat, escapeDefault, type SessionRecord } from "../../src/core/access-log.ts";
import { BUILTIN_LOG_FORMATS, logFormatError } from "../../src/core/config/values/log-format.ts";
import type { Config } from "../../src/core/config/model.ts";
import { loadYamlConfig } from "../../src/core/config/read-yaml/reader.ts";
import type { Logger } from "../../src/core/log.ts";
import type { LogFile } from "../../src/core/runtime.ts";
import type { SessionOutcome } from "../../src/core/session-outcome.ts";
import { VariableRegistry } from "../../src/core/variables/registry.ts";
import { compileStreamVariables } from "../../src/core/variables/stream-variables.ts";

const REG = new VariableRegistry({ hostname: "h", pid: 1, nginxVersion: "1.31.5" });
const client = { remoteAddress: "127.0.0.9", remotePort: 40000, localAddress: "127.0.0.1", localPort: 8000 };
const T0 = Date.UTC(2026, 10, 21, 5, 20, 0, 250);

function record(outcome: Partial<SessionOutcome>, durationMs = 1234): SessionRecord {
  return {
    id: 7,
    client,
    startMs: T0,
    endMs: T0 + durationMs,
    outcome: { status: 200, upstreamAddrs: [], upstreamConnectMs: [], upstreamSessionMs: [], relay: null, ...outcome },
  };
}

const served = record({
  status: 200,
  upstreamAddrs: ["127.0.0.1:6000"],
  upstreamConnectMs: [3],
  upstreamSessionMs: [1230],
  relay: { end: "client_closed", bytesFromClient: 5, bytesToClient: 12, bytesFromUpstream: 12, bytesToUpstream: 5 },
});
const retried = record({
  status: 200,
  upstreamAddrs: ["127.0.0.1:6001", "127.0.0.1:6000"],
  upstreamConnectMs: [-1, 2],
  upstreamSessionMs: [1, 1100],
  relay: { end: "upstream_closed", bytesFromClient: 1, bytesToClient: 2, bytesFromUpstream: 2, bytesToUpstream: 1 },
});
const noLive = record({ status: 502, upstreamAddrs: ["backend"], upstreamConnectMs: [-1], upstreamSessionMs: [0] }, 0);
const timedOut = record(
  { status: 502, upstreamAddrs: ["127.0.0.1:6009"], upstreamConnectMs: [-1], upstreamSessionMs: [201] },
  203,
);

const UPSTREAM = "$upstream_addr|$upstream_connect_time|$upstream_session_time|$upstream_bytes_sent|$upstream_bytes_received";

describe("access log format", () => {
  test("a served session: client, server, status, bytes and times as nginx writes them", () => {
    const line = compileLogFormat(
      "$remote_addr:$remote_port > $server_addr:$server_port $protocol $status $bytes_sent $bytes_received $session_time #$connection",
      "default",
      REG,
    );
    assert.equal(line(served), "127.0.0.9:40000 > 127.0.0.1:8000 TCP 200 12 5 1.234 #7\n");
    assert.equal(compileLogFormat(UPSTREAM, "default", REG)(served), "127.0.0.1:6000|0.003|1.230|5|12\n");
  });

  test("a retried session lists every try, comma and space separated, `-` for a connect that failed", () => {
    assert.equal(
      compileLogFormat(UPSTREAM, "default", REG)(retried),
      "127.0.0.1:6001, 127.0.0.1:6000|-, 0.002|0.001, 1.100|0, 1|0, 2\n",
    );
  });

  test("no live upstreams: 502, the upstream's name as $upstream_addr, no connect time", () => {
    assert.equal(compileLogFormat(`$status ${UPSTREAM} $bytes_sent`, "default", REG)(noLive), "502 backend|-|0.000|0|0 0\n");
  });

  test("a connect that timed out: 502 with the server tried and how long it waited", () => {
    assert.equal(
      compileLogFormat(`$status $session_time ${UPSTREAM}`, "default", REG)(timedOut),
      "502 0.203 127.0.0.1:6009|-|0.201|0|0\n",
    );
  });

  test("times: $msec, $time_iso8601 and $time_local (local time with its offset)", () => {
    const line = compileLogFormat("$msec|$time_iso8601|$time_local", "default", REG)(record({}, 0));
    const [msec, iso, local] = line.trimEnd().split("|") as [string, string, string];
    assert.equal(msec, "1795238400.250");
    const d = new Date(T0);
    const off = -d.getTimezoneOffset();
    const sign = off < 0 ? "-" : "+";
    const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, "0");
    const mm = String(Math.abs(off) % 60).padStart(2, "0");
    assert.match(iso, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\${sign}${hh}:${mm}$`));
    assert.equal(new Date(iso).getTime(), T0 - 250);
    assert.match(local, new RegExp(`^\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\${sign}${hh}${mm}$`));
    if (off === 0) assert.equal(local, "21/Nov/2026:05:20:00 +0000");
  });

  test("${name} and $name next to text; unknown names and broken brackets are nginx's errors", () => {
    assert.equal(compileLogFormat("[${status}]$status.x", "default", REG)(served), "[200]200.x\n");
    assert.equal(logFormatError("$nope"), `unknown "nope" variable`);
    assert.equal(logFormatError("${status"), `the closing bracket in "status" variable is missing`);
    assert.equal(logFormatError("a $"), `invalid parameter "$"`);
    assert.equal(logFormatError("$upstream_first_byte_time"), null, "an nginx variable streamlb leaves empty is accepted");
  });

  test("escaping: default is \\xHH for quotes, backslashes, control and non-ASCII bytes; json and none", () => {
    assert.equal(escapeDefault(`a"b\\c\nd é`), "a\\x22b\\x5Cc\\x0Ad \\xC3\\xA9");
    const odd = record({ upstreamAddrs: ['we"ird\\name'], upstreamConnectMs: [-1], upstreamSessionMs: [0] });
    assert.equal(compileLogFormat("$upstream_addr", "default", REG)(odd), "we\\x22ird\\x5Cname\n");
    assert.equal(compileLogFormat("$upstream_addr", "json", REG)(odd), 'we\\"ird\\\\name\n');
    assert.equal(compileLogFormat("$upstream_addr", "none", REG)(odd), 'we"ird\\name\n');
  });

  test("a variable without a value is `-`, and empty with escape=json", () => {
    assert.equal(compileLogFormat("[$upstream_addr] [$upstream_first_byte_time]", "default", REG)(record({})), "[-] [-]\n");
    assert.equal(compileLogFormat("[$upstream_addr]", "json", REG)(record({})), "[]\n");
  });

  test("the built-in json format is one JSON object per line with every variable", () => {
    const json = BUILTIN_LOG_FORMATS.get("json")!;
    for (const r of [served, retried, noLive, timedOut]) {
      const parsed = JSON.parse(
        compileLogFormat(json.format, json.escape, new VariableRegistry({ hostname: "h", pid: 9, nginxVersion: "1.31.5" }))(r),
      ) as Record<string, unknown>;
      assert.equal(parsed["status"], r.outcome.status);
      assert.equal(parsed["remote_addr"], "127.0.0.9");
      assert.equal(parsed["upstream_addr"], r.outcome.upstreamAddrs.join(", "));
      assert.equal(typeof parsed["session_time"], "number");
    }
  });
});

/** A log file that records what reaches it. */
class MemoryFile implements LogFile {
  appends: string[] = [];
  writes = 0;
  reopened = 0;
  closed = false;
  write(): void {
    this.writes++;
  }
  raw: Uint8Array[] = [];
  async append(data: string | Uint8Array): Promise<void> {
    await new Promise((r) => setTimeout(r, 1));
    if (typeof data === "string") this.appends.push(data);
    else this.raw.push(data);
  }
  async reopen(): Promise<void> {
    this.reopened++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  get text(): string {
    return this.appends.join("");
  }
}

function setup(yaml: string) {
  const files = new Map<string, MemoryFile>();
  const opened: string[] = [];
  const runtime = {
    pid: 4242,
    async openLogFile(path: string) {
      opened.push(path);
      const f = new MemoryFile();
      files.set(path, f);
      return f;
    },
  };
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (l, m) => lines.push(`[${l}] ${m}`) };
  const logs = new AccessLogs(runtime, logger);
  return { logs, files, opened, lines, config: (text = yaml): Config => loadYamlConfig(text, "t.yaml") };
}

const CONFIG = (extra: string) => `
stream:
  log_formats: { short: "$status $upstream_addr" }
  upstreams: { u: { servers: ["127.0.0.1:6000"] } }
  servers:
    - { listen: 1, proxy_pass: u, access_log: { path: /a.log, format: short, buffer: 1k, flush: 50ms } }
    - { listen: 2, proxy_pass: u${extra} }
`;

describe("access log writing", () => {
  test("if= skips a session when the value is empty or 0; a path with variables opens a file per value; gzip writes members", async () => {
    const s = setup(`
stream:
  log_formats: { short: "$status" }
  variables:
    - map: [$server_port, $logme]
      lines: [["1", "1"], [default, "0"]]
  upstreams: { u: { servers: ["127.0.0.1:6000"] } }
  servers:
    - listen: [1, 2]
      proxy_pass: u
      access_log:
        - { path: /if.log, format: short, if: $logme, buffer: 1k, flush: 10ms }
        - { path: /port-$server_port.log, format: short, buffer: 1k, flush: 10ms }
        - { path: /z.log, format: short, gzip: 1, buffer: 1k, flush: 10ms }
`);
    const c = s.config();
    const p = await s.logs.prepare(c, compileStreamVariables(c.stream).registry);
    await p.commit();
    const logger = p.forServer(c.stream.servers[0]!)!;
    logger.log({ ...served, client: { ...client, localPort: 1 } });
    logger.log({ ...served, client: { ...client, localPort: 2 } });
    // Flushed by their 10 ms timers; waited for by what arrives, not by a guess at the time.
    for (let i = 0; i < 200 && !(s.files.get("/port-2.log")?.text && s.files.get("/z.log")?.raw.length); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(s.files.get("/if.log")!.text, "200\n", "only the session on port 1 ($logme 1) is logged");
    assert.equal(s.files.get("/port-1.log")!.text, "200\n");
    assert.equal(s.files.get("/port-2.log")!.text, "200\n");
    assert.deepEqual(s.opened.slice(0, 2), ["/if.log", "/z.log"], "variable paths open at their first line");
    const z = s.files.get("/z.log")!;
    assert.equal(z.appends.length, 0);
    const text = await new Response(new Blob(z.raw.map((b) => b.slice())).stream().pipeThrough(new DecompressionStream("gzip")))
      .text();
    assert.equal(text, "200\n200\n");
  });

  test("lines wait for the flush timer and go out as one append, in order", async () => {
    const s = setup(CONFIG(""));
    const prepared = await s.logs.prepare(s.config(), REG);
    await prepared.commit();
    const config = s.config();
    const log = prepared.forServer(config.stream.servers[0]!);
    assert.equal(log, null, "a logger belongs to the config it was prepared for");
    const c = s.config();
    const p2 = await s.logs.prepare(c, REG);
    await p2.commit();
    const logger = p2.forServer(c.stream.servers[0]!)!;
    assert.equal(p2.forServer(c.stream.servers[1]!), null, "access_log is off by default");
    for (let i = 0; i < 5; i++) logger.log(served);
    const file = s.files.get("/a.log")!;
    assert.equal(file.appends.length, 0, "nothing is written at once");
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(file.appends.length, 1, "one append for the batch");
    assert.equal(file.text, "200 127.0.0.1:6000\n".repeat(5));
    assert.equal(file.writes, 0, "access logs never use the synchronous write");
    assert.deepEqual(s.opened, ["/a.log"], "a file that stays open across configs is opened once");
  });

  test("a full buffer is written without waiting for the timer", async () => {
    const s = setup(CONFIG(""));
    const c = s.config();
    const p = await s.logs.prepare(c, REG);
    await p.commit();
    const logger = p.forServer(c.stream.servers[0]!)!;
    for (let i = 0; i < 100; i++) logger.log(served); // 19 bytes a line, buffer=1k
    await new Promise((r) => setTimeout(r, 20));
    const file = s.files.get("/a.log")!;
    assert.ok(file.appends.length >= 1, "written before flush=50ms");
    assert.ok(file.appends.every((a) => a.length <= 1024 + 19));
    await s.logs.close();
    assert.equal(file.text, "200 127.0.0.1:6000\n".repeat(100), "close writes what is pending");
    assert.ok(file.closed);
  });

  test("reopen writes what is pending, then reopens (logrotate)", async () => {
    const s = setup(CONFIG(""));
    const c = s.config();
    const p = await s.logs.prepare(c, REG);
    await p.commit();
    p.forServer(c.stream.servers[0]!)!.log(served);
    await s.logs.reopen();
    const file = s.files.get("/a.log")!;
    assert.equal(file.text, "200 127.0.0.1:6000\n");
    assert.equal(file.reopened, 1);
  });

  test("stream-level access_log is inherited; a server's own or `off` replaces it; a reload closes dropped files", async () => {
    const yaml = `
stream:
  access_log: { path: /all.log, format: basic }
  upstreams: { u: { servers: ["127.0.0.1:6000"] } }
  servers:
    - { listen: 1, proxy_pass: u }
    - { listen: 2, proxy_pass: u, access_log: off }
    - { listen: 3, proxy_pass: u, access_log: [{ path: /own.log, format: json }, /all.log] }
`;
    const s = setup(yaml);
    const c = s.config();
    assert.deepEqual(c.stream.servers.map((x) => x.accessLog.map((l) => `${l.path}:${l.format}`)), [
      ["/all.log:basic"],
      [],
      ["/own.log:json", "/all.log:basic"],
    ]);
    const p = await s.logs.prepare(c, REG);
    await p.commit();
    p.forServer(c.stream.servers[2]!)!.log(served);
    await s.logs.reopen();
    assert.match(s.files.get("/own.log")!.text, /^\{"time":/);
    assert.match(s.files.get("/all.log")!.text, /^127\.0\.0\.9 \[.*\] TCP 200 12 5 1\.234\n$/);

    const next = s.config(yaml.replace(/, access_log: \[.*\]/, ""));
    const p2 = await s.logs.prepare(next, REG);
    await p2.commit();
    assert.ok(s.files.get("/own.log")!.closed, "a file no config names any more is closed");
    assert.ok(!s.files.get("/all.log")!.closed);
  });

  test("a log that cannot be opened fails prepare and closes what it opened", async () => {
    const s = setup("");
    const runtime = {
      pid: 1,
      async openLogFile(path: string): Promise<LogFile> {
        if (path === "/b.log") throw new Error("13: Permission denied");
        const f = new MemoryFile();
        s.files.set(path, f);
        return f;
      },
    };
    const logs = new AccessLogs(runtime, { enabled: () => true, log: () => undefined });
    const c = s.config(
      CONFIG(", access_log: /b.log").replace("buffer: 1k, flush: 50ms", "buffer: 1k"),
    );
    await assert.rejects(logs.prepare(c, REG), /open\(\) "\/b\.log" failed \(13: Permission denied\)/);
    assert.ok(s.files.get("/a.log")!.closed);
  });
});
