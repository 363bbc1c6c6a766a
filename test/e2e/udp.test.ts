// `listen … udp` over real loopback sockets, on Node, Deno, Bun and the binary: DNS-like
// request/response with hash consistent (the same picks as Debian's nginx), fire and forget,
// proxy_requests 1, the idle timeout, an unreachable backend taken out, and 10,000 datagrams of
// mixed sizes up to 65,507 bytes that come back intact and one by one.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { ensureNginx, type Nginx, startNginx } from "../support/nginx.ts";
import { startStreamlb, type Streamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";
import {
  closedUdpPort,
  freeUdpPorts,
  startNamedUdp,
  startUdpEcho,
  startUdpSink,
  type UdpBackend,
  udpClient,
} from "../support/udp.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** 250 client source addresses, as DNS clients behind one resolver would be. */
const SOURCES = Array.from({ length: 250 }, (_, i) => `127.0.${1 + Math.floor(i / 100)}.${1 + (i % 100)}`);

interface Setup {
  readonly named: UdpBackend[];
  readonly sink: UdpBackend;
  readonly echo: UdpBackend;
  readonly dead: number;
}

/** The stream{} body both streamlb and nginx run for the hash comparison. */
const hashUpstream = (s: Setup) =>
  `upstream dns { hash $remote_addr consistent; ${s.named.map((b) => `server ${b.address};`).join(" ")} }`;

function config(s: Setup, ports: number[], dir: string): string {
  const [dns, syslog, perDatagram, idle, failing, bulk] = ports;
  return `
error_log stderr info;
events { worker_connections 1024; }
stream {
    log_format udp "$protocol $status $bytes_received $bytes_sent";
    ${hashUpstream(s)}
    upstream failing { server 127.0.0.1:${s.dead} max_fails=1 fail_timeout=60s; server ${s.named[0]!.address}; }
    server { listen 127.0.0.1:${dns} udp; proxy_pass dns; proxy_responses 1; proxy_timeout 2s; }
    server { listen 127.0.0.1:${syslog} udp; proxy_pass ${s.sink.address}; proxy_responses 0; access_log ${dir}/syslog.log udp; }
    server { listen 127.0.0.1:${perDatagram} udp; proxy_pass ${s.named[1]!.address}; proxy_requests 1; proxy_timeout 1s; }
    server { listen 127.0.0.1:${idle} udp; proxy_pass ${s.named[2]!.address}; proxy_timeout 500ms; }
    server { listen 127.0.0.1:${failing} udp; proxy_pass failing; proxy_responses 1; proxy_timeout 700ms; }
    server { listen 127.0.0.1:${bulk} udp; proxy_pass ${s.echo.address}; proxy_buffer_size 64k; proxy_timeout 10s; }
}
`;
}

/** Which named backend answers each source address, through `port`. */
async function picks(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const source of SOURCES) {
    const c = await udpClient(port, source);
    const reply = await c.request("q", 2000);
    await c.close();
    out.push(reply ? reply.toString().split(" ")[0]! : "none");
  }
  return out;
}

const setup = {} as { value: Setup };
const nginxPicks: { value: string[] | null; skip: string | null } = { value: null, skip: null };

before(async () => {
  const named = await Promise.all(["a", "b", "c"].map(startNamedUdp));
  setup.value = { named, sink: await startUdpSink(), echo: await startUdpEcho(), dead: await closedUdpPort() };
  // Debian's nginx, once, with the same upstream: its picks for the same 250 sources.
  const nginx = ensureNginx();
  if ("skip" in nginx) {
    nginxPicks.skip = nginx.skip;
    return;
  }
  const [udpPort] = await freeUdpPorts(1);
  const [probe] = await freePorts(1);
  const dir = tempDir();
  const conf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
stream {
    ${hashUpstream(setup.value)}
    server { listen 127.0.0.1:${udpPort} udp; proxy_pass dns; proxy_responses 1; proxy_timeout 2s; }
    server { listen 127.0.0.1:${probe}; proxy_pass 127.0.0.1:9; }
}
`;
  let ngx: Nginx | null = null;
  try {
    ngx = await startNginx(nginx.bin, dir, conf, probe!);
    nginxPicks.value = await picks(udpPort!);
  } finally {
    await ngx?.stop();
  }
});

after(async () => {
  const s = setup.value;
  await Promise.all([...s.named, s.sink, s.echo].map((b) => b.close()));
});

for (const target of TARGETS) {
  describe(`UDP on ${target}`, () => {
    let lb: Streamlb;
    let ports: number[];
    let dir: string;

    before(async () => {
      ports = await freeUdpPorts(6);
      dir = tempDir();
      lb = await startStreamlb(target, writeConfig(config(setup.value, ports, dir), "nginx.conf"));
    });
    after(() => lb.stop());

    test("DNS-like request/response with hash $remote_addr consistent: the same picks as nginx over 250 sources", async (t) => {
      const ours = await picks(ports[0]!);
      assert.ok(ours.every((p) => p !== "none"), "every query answered");
      assert.equal(new Set(ours).size, 3, "the sources spread over the three servers");
      // A source keeps its server whatever its port: ask again from new sockets.
      assert.deepEqual((await picks(ports[0]!)).slice(0, 40), ours.slice(0, 40));
      if (nginxPicks.value) assert.deepEqual(ours, nginxPicks.value);
      else t.diagnostic(`nginx comparison skipped: ${nginxPicks.skip}`);
    });

    test("proxy_responses 0 (syslog): every datagram reaches the backend, each session ends at once, logged as UDP", async () => {
      const before = setup.value.sink.received.length;
      const c = await udpClient(ports[1]!);
      for (let i = 0; i < 20; i++) {
        c.send(`<13>line ${i}`);
        await sleep(5);
      }
      for (let i = 0; i < 100 && setup.value.sink.received.length < before + 20; i++) await sleep(20);
      await c.close();
      const got = setup.value.sink.received.slice(before).map(String);
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `<13>line ${i}`));
      // One session per datagram, each ended after forwarding (status 200, nothing sent back).
      await lb.waitForLog(/(udp done[^\n]*\n[^]*){20}/, 5000);
      let lines: string[] = [];
      for (let i = 0; i < 100 && lines.length < 20; i++) {
        await sleep(50);
        try {
          lines = readFileSync(join(dir, "syslog.log"), "utf8").trim().split("\n").filter(Boolean);
        } catch {
          // not written yet (access logs are flushed within a second)
        }
      }
      assert.equal(lines.length, 20);
      assert.ok(lines.every((l, i) => l === `UDP 200 ${`<13>line ${i}`.length} 0`), lines.join("\n"));
    });

    test("proxy_requests 1: each datagram is a session of its own, with its own upstream socket", async () => {
      const c = await udpClient(ports[2]!);
      const fromPorts = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const reply = await c.request(`q${i}`);
        assert.ok(reply, `reply ${i}`);
        fromPorts.add(reply.toString().split(" ")[1]!);
      }
      await c.close();
      assert.equal(fromPorts.size, 5);
    });

    test("proxy_timeout ends an idle session; the client's next datagram starts a new one", async () => {
      const c = await udpClient(ports[3]!);
      const first = (await c.request("1"))!.toString();
      const second = (await c.request("2"))!.toString();
      assert.equal(second, first, "one session while it is busy");
      await lb.waitForLog(/udp timed out, packets from\/to client:2\/2/, 5000);
      const third = (await c.request("3"))!.toString();
      assert.notEqual(third, first, "a new session, a new upstream socket");
      await c.close();
    });

    test("a backend that answers with ICMP port unreachable is marked failed and skipped", async () => {
      // Round robin sends the first session to the dead server: nginx's zero-length reply on
      // runtimes that see the ICMP error, no reply (a timeout) on Deno, which cannot.
      const results: string[] = [];
      for (let i = 0; i < 12; i++) {
        const c = await udpClient(ports[4]!);
        const reply = await c.request("q", 1500);
        await c.close();
        results.push(reply === null ? "none" : reply.length === 0 ? "empty" : reply.toString().split(" ")[0]!);
      }
      const dead = results.filter((r) => r !== "a");
      assert.equal(dead.length, 1, results.join(","));
      assert.ok(target === "deno" ? dead[0] === "none" : dead[0] === "empty", results.join(","));
      await lb.waitForLog(/upstream server temporarily disabled while proxying connection/, 3000);
    });

    test("10,000 datagrams of mixed sizes up to 65,507 bytes come back intact and one by one", async () => {
      const c = await udpClient(ports[5]!);
      const COUNT = 10_000;
      const size = (i: number) => (i % 100 === 0 ? 65_507 : i % 10 === 0 ? 1 + ((i * 7919) % 65_507) : 4 + ((i * 131) % 1400));
      const sums = new Map<number, string>();
      const sum = (b: Buffer) => createHash("sha1").update(b).digest("hex");
      let inFlightBytes = 0;
      const inFlight = new Map<number, Buffer>();
      let next = 0;
      let done = 0;
      let retries = 0;
      let bad = "";
      const WINDOW_BYTES = 96 * 1024;
      const sendOne = (i: number) => {
        const b = i === 0 ? Buffer.alloc(4) : randomBytes(size(i));
        b.writeUInt32BE(i, 0);
        sums.set(i, sum(b));
        inFlight.set(i, b);
        inFlightBytes += b.length;
        c.send(b);
      };
      await new Promise<void>((resolve, reject) => {
        const fill = () => {
          while (next < COUNT && (inFlight.size === 0 || inFlightBytes + size(next) <= WINDOW_BYTES)) sendOne(next++);
        };
        let idle: ReturnType<typeof setTimeout>;
        const watchdog = () => {
          clearTimeout(idle);
          idle = setTimeout(() => {
            // Lost on the way (a kernel drop under load): send again, counted.
            if (retries > 200) return reject(new Error(`too many losses; ${done} of ${COUNT} back`));
            for (const b of inFlight.values()) {
              retries++;
              c.send(b);
            }
            watchdog();
          }, 1000);
        };
        c.onMessage((msg) => {
          const i = msg.length >= 4 ? msg.readUInt32BE(0) : -1;
          const sent = inFlight.get(i);
          if (!sent) return; // a duplicate after a resend
          if (msg.length !== sent.length || sum(msg) !== sums.get(i)) {
            bad ||= `datagram ${i}: ${msg.length} bytes, sent ${sent.length}`;
          }
          inFlight.delete(i);
          inFlightBytes -= sent.length;
          done++;
          watchdog();
          if (done === COUNT) {
            clearTimeout(idle);
            return resolve();
          }
          fill();
        });
        fill();
        watchdog();
      });
      await c.close();
      assert.equal(bad, "");
      assert.equal(done, COUNT);
      assert.ok(retries <= 200);
    });
  });
}
