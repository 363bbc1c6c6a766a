// `health_check udp` against in-memory datagram sockets and a hand-driven clock: what a probe
// sends, silence as a pass and an ICMP port unreachable as a failure when no reply is
// expected, the first reply judged when one is, and the runtimes that cannot run a check
// refused before anything starts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Config, DEFAULT_HEALTH_CHECK, type HealthCheckConfig } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { HealthMonitor, primeHealth, type Prober } from "../../src/core/health.ts";
import { probeDatagram } from "../../src/core/health-udp-probe.ts";
import type { Logger } from "../../src/core/log.ts";
import type { ProbeOptions, ProbeResult } from "../../src/core/runtime.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { FakeDatagrams, ManualClock, settle } from "../support/fake-datagrams.ts";
import { server } from "../support/peers.ts";

const loc = { file: "t", line: 1, col: 1 };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const TARGET = { host: "10.0.0.1", port: 53 };

function options(over: Partial<ProbeOptions> = {}): ProbeOptions {
  return { timeoutMs: 1000, send: new TextEncoder().encode("ping"), maxBytes: 0, enough: () => true, ...over };
}

/** Starts a probe and lets its socket open; the socket is the fake's newest. */
async function started(fake: FakeDatagrams, clock: ManualClock, o: ProbeOptions) {
  let result: ProbeResult | null = null;
  void probeDatagram(fake.runtime.connectDatagram!, TARGET, o, clock).then((r) => (result = r));
  await settle();
  return { socket: fake.sockets.at(-1)!, result: () => result };
}

describe("health_check udp: one probe", () => {
  test("without an expected reply: sends, and silence for the whole timeout is a pass", async () => {
    const fake = new FakeDatagrams();
    const clock = new ManualClock();
    const p = await started(fake, clock, options());
    assert.equal(p.socket.target, "10.0.0.1:53");
    assert.deepEqual(p.socket.sent.map(text), ["ping"]);
    clock.advance(999);
    await settle();
    assert.equal(p.result(), null, "still waiting for an ICMP error");
    clock.advance(1);
    await settle();
    assert.deepEqual(p.result(), { kind: "ok", received: new Uint8Array(0) });
    assert.equal(p.socket.closed, true);
    assert.equal(clock.pending, 0);
  });

  test("an ICMP port unreachable ends the probe at once as refused", async () => {
    const fake = new FakeDatagrams();
    const clock = new ManualClock();
    const p = await started(fake, clock, options());
    p.socket.refuse();
    await settle();
    assert.deepEqual(p.result(), { kind: "refused" });
    assert.equal(p.socket.closed, true);
    assert.equal(clock.pending, 0, "the timer is gone with the probe");
  });

  test("a full send queue fails the probe at once", async () => {
    const fake = new FakeDatagrams();
    const clock = new ManualClock();
    const held = fake.runtime.connectDatagram!;
    fake.runtime.connectDatagram = async (t, events, size) => {
      const s = await held(t, events, size);
      fake.sockets.at(-1)!.sendResult = "dropped";
      return s;
    };
    const p = await started(fake, clock, options());
    assert.deepEqual(p.result(), { kind: "error", code: "ENOBUFS", detail: "the socket's send queue is full" });
  });

  test("with an expected reply: the first datagram back is judged, cut to maxBytes; none is a reply timeout", async () => {
    const fake = new FakeDatagrams();
    const clock = new ManualClock();
    const p = await started(fake, clock, options({ maxBytes: 4 }));
    p.socket.reply("PONG and more");
    await settle();
    const r = p.result();
    assert.equal(r?.kind, "ok");
    assert.equal(text((r as { received: Uint8Array }).received), "PONG");
    const q = await started(fake, clock, options({ maxBytes: 4 }));
    clock.advance(1000);
    await settle();
    assert.deepEqual(q.result(), { kind: "timeout", stage: "reply" });
  });

  test("an abort ends the probe and closes its socket", async () => {
    const fake = new FakeDatagrams();
    const clock = new ManualClock();
    const abort = new AbortController();
    const p = await started(fake, clock, options({ signal: abort.signal }));
    abort.abort();
    await settle();
    assert.deepEqual(p.result(), { kind: "aborted" });
    assert.equal(p.socket.closed, true);
  });
});

function monitorSetup(check: Partial<HealthCheckConfig>, prober?: Prober) {
  const fake = new FakeDatagrams();
  const clock = Object.assign(new ManualClock(), { random: () => 0 });
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const runtime = prober ?? Object.assign(fake.runtime, { datagramUnreachable: true, probe: () => assert.fail("a TCP probe") });
  const monitor = new HealthMonitor(runtime, logger, () => 0, clock);
  const upstreamConfig = {
    name: "dns",
    method: { kind: "round_robin" },
    servers: [server("10.0.0.1:53"), server("10.0.0.2:53")],
    implicit: false,
    healthCheck: { ...DEFAULT_HEALTH_CHECK, udp: true, ...check },
    loc,
  } as const;
  const upstream = primeHealth(new Upstream(upstreamConfig));
  const config = {
    stream: {
      upstreams: new Map([["dns", upstreamConfig]]),
      servers: [{ listen: [], proxyPass: "dns", proxy: { ...DEFAULT_PROXY_SETTINGS, proxyBufferSize: 512 }, loc }],
    },
  } as unknown as Config;
  const peer = (address: string) => [...upstream.allPeers()].find((p) => p.address === address)!;
  return { fake, clock, lines, monitor, upstream, config, peer };
}

/** The sockets of the probes in flight to `address`. */
const probesTo = (fake: FakeDatagrams, address: string) => fake.sockets.filter((s) => s.target === address && !s.closed);

describe("health_check udp: the checks", () => {
  test("no match: Plus's string goes out; an ICMP error counts toward fails, silence toward passes", async () => {
    const t = monitorSetup({ intervalMs: 1000, timeoutMs: 15, fails: 2, passes: 2 });
    t.monitor.check(t.config);
    t.monitor.apply(new Map([["dns", t.upstream]]), t.config);
    const round = async (refuse: boolean) => {
      // Until the next checks start (both are due within the timer's slack of each other).
      for (let i = 0; i < 400 && probesTo(t.fake, "10.0.0.2:53").length === 0; i++) {
        t.clock.advance(5); // steps shorter than the timeout, so a check cannot start and end in one
        await settle();
      }
      const [a, b] = [probesTo(t.fake, "10.0.0.1:53"), probesTo(t.fake, "10.0.0.2:53")];
      assert.equal(a.length, 1);
      assert.equal(b.length, 1);
      if (refuse) a[0]!.refuse();
      await settle();
      t.clock.advance(15); // the timeout: silence
      await settle();
    };
    await round(true);
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["nginx health check"]);
    assert.equal(t.peer("10.0.0.1:53").health, "unchecked", "one failure of two");
    assert.equal(t.peer("10.0.0.2:53").health, "healthy");
    await round(true);
    assert.equal(t.peer("10.0.0.1:53").health, "unhealthy");
    assert.ok(
      t.lines.includes("[warn] server 10.0.0.1:53 of upstream dns is down: recv() failed (111: Connection refused)"),
      t.lines.join("\n"),
    );
    await round(false);
    assert.equal(t.peer("10.0.0.1:53").health, "unhealthy", "one pass of two");
    await round(false);
    assert.equal(t.peer("10.0.0.1:53").health, "healthy");
    assert.ok(t.lines.includes("[notice] server 10.0.0.1:53 of upstream dns is up"));
    assert.equal(t.peer("10.0.0.2:53").lastCheck?.detail, "no ICMP port unreachable");
    t.monitor.stop();
  });

  test("a match: its send goes out and the reply must match", async () => {
    const t = monitorSetup({ intervalMs: 1000, timeoutMs: 300, send: "\x00\x01", expect: { kind: "bytes", bytes: "ok" } });
    t.monitor.check(t.config);
    t.monitor.apply(new Map([["dns", t.upstream]]), t.config);
    t.clock.advance(0);
    await settle();
    const [a] = probesTo(t.fake, "10.0.0.1:53");
    const [b] = probesTo(t.fake, "10.0.0.2:53");
    assert.deepEqual([...a!.sent[0]!], [0, 1]);
    a!.reply("not it");
    b!.reply("ok!");
    await settle();
    assert.equal(t.peer("10.0.0.1:53").health, "unhealthy");
    assert.equal(t.peer("10.0.0.2:53").health, "healthy");
    assert.ok(t.lines.some((l) => l.endsWith(`is down: the reply did not match "ok": got "not it"`)), t.lines.join("\n"));
    t.clock.advance(1000);
    await settle();
    t.clock.advance(300); // neither answers: a timeout waiting for the reply
    await settle();
    assert.equal(t.peer("10.0.0.2:53").health, "unhealthy");
    assert.ok(
      t.lines.some((l) =>
        l.includes(`10.0.0.2:53 of upstream dns is down: timed out (110: Connection timed out) waiting for a reply matching "ok"`)
      ),
    );
    t.monitor.stop();
    assert.equal(t.clock.pending, 0);
  });

  test("refused before start where it cannot run: no datagram door, or no ICMP errors and nothing expected", () => {
    const base = { probe: async () => ({ kind: "aborted" }) as const };
    const noDoor = monitorSetup({}, { ...base, name: "node" });
    assert.throws(() => noDoor.monitor.check(noDoor.config), {
      message: `"health_check udp" of upstream "dns" is not supported on node`,
    });
    const fake = new FakeDatagrams();
    const deno: Prober = { ...base, name: "deno", connectDatagram: fake.runtime.connectDatagram!, datagramUnreachable: false };
    const blind = monitorSetup({}, deno);
    assert.throws(() => blind.monitor.check(blind.config), {
      message: `"health_check udp" of upstream "dns" needs a match with "expect" on deno: ` +
        `it reports no ICMP port unreachable, so a check without a reply would pass every server`,
    });
    const expecting = monitorSetup({ expect: { kind: "bytes", bytes: "x" } }, deno);
    assert.doesNotThrow(() => expecting.monitor.check(expecting.config));
  });
});
