// The active-check state machine against a fake clock and a scripted prober: thresholds,
// initial states, reload semantics, jitter, timers, send/expect verdicts, session drop.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/index.ts";
import { type Config, DEFAULT_HEALTH_CHECK, type HealthCheckConfig, type UpstreamConfig } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { type HealthClock, HealthMonitor, primeHealth } from "../../src/core/health.ts";
import type { Logger } from "../../src/core/log.ts";
import type { ConnectTarget, ProbeOptions, ProbeResult } from "../../src/core/runtime.ts";
import { type Peer, Upstream } from "../../src/core/upstream.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { context, server } from "../support/peers.ts";

const loc = { file: "t", line: 1, col: 1 };

class FakeClock implements HealthClock {
  ms = 1_000_000;
  rand = 0;
  private nextId = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.ms;
  random = () => this.rand;
  setTimer = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.ms + ms, fn });
    return id;
  };
  clearTimer = (h: unknown) => void this.timers.delete(h as number);

  /** Moves time forward, firing due timers in order and letting probe results land. */
  async advance(ms: number): Promise<void> {
    const until = this.ms + ms;
    for (;;) {
      await settle();
      let first: [number, { at: number; fn: () => void }] | null = null;
      for (const t of this.timers) if (t[1].at <= until && (!first || t[1].at < first[1].at)) first = t;
      if (!first) break;
      this.timers.delete(first[0]);
      this.ms = Math.max(this.ms, first[1].at);
      first[1].fn();
    }
    this.ms = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

type Script = (target: ConnectTarget, options: ProbeOptions) => ProbeResult | Promise<ProbeResult>;

class FakeProber {
  readonly calls: Array<{ target: ConnectTarget; atMs: number }> = [];
  /** By "host:port"; a missing entry connects fine. */
  readonly results = new Map<string, ProbeResult | Script>();
  constructor(private readonly clock: FakeClock) {}
  probe = async (target: ConnectTarget, options: ProbeOptions): Promise<ProbeResult> => {
    this.calls.push({ target, atMs: this.clock.ms });
    const r = this.results.get(`${target.host}:${target.port}`) ?? OK;
    return typeof r === "function" ? r(target, options) : r;
  };
  set(address: string, r: ProbeResult | Script): void {
    this.results.set(address, r);
  }
  count(address: string): number {
    return this.calls.filter((c) => `${c.target.host}:${c.target.port}` === address).length;
  }
}

const OK: ProbeResult = { kind: "ok", received: new Uint8Array(0) };
const REFUSED: ProbeResult = { kind: "refused" };
const bytes = (s: string) => new TextEncoder().encode(s);

function setup(check: Partial<HealthCheckConfig> | null, addresses = ["10.0.0.1:1", "10.0.0.2:1"]) {
  const clock = new FakeClock();
  const prober = new FakeProber(clock);
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const downs: Peer[] = [];
  let dropCount = 0;
  const monitor = new HealthMonitor(prober, logger, (peer) => (downs.push(peer), dropCount), clock);
  const upstreamConfig = (servers: string[], hc: Partial<HealthCheckConfig> | null = check): UpstreamConfig => ({
    name: "chat",
    method: { kind: "round_robin" },
    servers: servers.map((a) => server(a)),
    implicit: false,
    healthCheck: hc === null ? null : { ...DEFAULT_HEALTH_CHECK, ...hc },
    loc,
  });
  const upstream = primeHealth(new Upstream(upstreamConfig(addresses)));
  const configFor = (u: UpstreamConfig): Config => ({
    file: "t",
    pid: null,
    workerProcesses: 1,
    workerShutdownTimeoutMs: 0,
    shutdownGraceMs: null,
    errorLog: { path: "stderr", level: "info" },
    stream: {
      upstreams: new Map([["chat", u]]),
      servers: [{ listen: [], proxyPass: "chat", proxy: { ...DEFAULT_PROXY_SETTINGS, proxyBufferSize: 64 }, loc }],
    },
  } as unknown as Config);
  const upstreams = new Map([["chat", upstream]]);
  monitor.apply(upstreams, configFor(upstream.config));
  const reload = (servers: string[], hc: Partial<HealthCheckConfig> | null = check) => {
    const cfg = upstreamConfig(servers, hc);
    upstream.update(cfg);
    monitor.apply(upstreams, configFor(cfg));
  };
  const peer = (address: string) => [...upstream.allPeers()].find((p) => p.address === address)!;
  return {
    clock,
    prober,
    lines,
    downs,
    monitor,
    upstream,
    peer,
    reload,
    setDropCount: (n: number) => (dropCount = n),
  };
}

describe("health checks: state machine", () => {
  test("fails consecutive failures mark a server down once; passes consecutive passes bring it back", async () => {
    const t = setup({ intervalMs: 1000, fails: 2, passes: 2 });
    const a = t.peer("10.0.0.1:1");
    t.prober.set("10.0.0.1:1", REFUSED);
    await t.clock.advance(0); // first checks run at once
    assert.equal(a.health, "unchecked", "one failure of two: still usable");
    assert.equal(t.peer("10.0.0.2:1").health, "healthy");
    await t.clock.advance(1000);
    assert.equal(a.health, "unhealthy");
    assert.equal(a.down, true, "every balancing method skips it");
    await t.clock.advance(3000);
    assert.deepEqual(t.lines, ["[warn] server 10.0.0.1:1 of upstream chat is down: connect() failed (111: Connection refused)"]);
    assert.deepEqual(t.downs, [a]);
    t.prober.set("10.0.0.1:1", OK);
    await t.clock.advance(1000);
    assert.equal(a.health, "unhealthy", "one pass of two");
    await t.clock.advance(1000);
    assert.equal(a.health, "healthy");
    assert.equal(t.lines[1], "[notice] server 10.0.0.1:1 of upstream chat is up");
    assert.equal(t.lines.length, 2);
    assert.equal(a.stats.checks, 7);
    assert.equal(a.stats.checkFailures, 5);
    assert.equal(a.stats.unhealthyCount, 1);
    assert.deepEqual(a.lastCheck, { ok: true, detail: "connected", atMs: t.clock.ms });
  });

  test("a pass in between restarts the failure count", async () => {
    const t = setup({ intervalMs: 1000, fails: 2 });
    const a = t.peer("10.0.0.1:1");
    t.prober.set("10.0.0.1:1", REFUSED);
    await t.clock.advance(0);
    for (const r of [OK, REFUSED, OK, REFUSED]) {
      t.prober.set("10.0.0.1:1", r);
      await t.clock.advance(1000);
    }
    assert.notEqual(a.health, "unhealthy");
    assert.deepEqual(t.lines, []);
  });

  test("mandatory: servers start unhealthy (checking) and need passes passes; a first failure is logged once", async () => {
    const t = setup({ intervalMs: 1000, mandatory: true, passes: 2 });
    const [a, b] = [t.peer("10.0.0.1:1"), t.peer("10.0.0.2:1")];
    assert.equal(a.health, "unhealthy");
    assert.equal(a.lastCheck, null, 'not checked yet: Plus\'s "checking"');
    t.prober.set("10.0.0.2:1", { kind: "timeout", stage: "connect" });
    await t.clock.advance(0);
    assert.equal(a.health, "unhealthy", "one pass of two");
    await t.clock.advance(1000);
    assert.equal(a.health, "healthy");
    assert.equal(b.health, "unhealthy");
    assert.deepEqual(t.lines, [
      "[warn] server 10.0.0.2:1 of upstream chat is down: connect() timed out (110: Connection timed out)",
      "[notice] server 10.0.0.1:1 of upstream chat is up",
    ]);
  });

  test("primeHealth: a new upstream's mandatory servers are out before any check or listener", () => {
    const up = primeHealth(
      new Upstream({
        name: "x",
        method: { kind: "round_robin" },
        servers: [server("10.0.0.1:1")],
        implicit: false,
        healthCheck: { ...DEFAULT_HEALTH_CHECK, mandatory: true },
        loc,
      }),
    );
    assert.equal([...up.allPeers()][0]!.health, "unhealthy");
  });

  test("jitter delays each check by random()*jitter; the interval counts from the end of the last check", async () => {
    const t = setup({ intervalMs: 1000, jitterMs: 400 });
    t.clock.rand = 0.5;
    t.reload(["10.0.0.1:1"]);
    const start = t.clock.ms;
    const done = t.prober.calls.length;
    await t.clock.advance(199);
    assert.equal(t.prober.calls.length, done, "not before its jitter");
    await t.clock.advance(1);
    assert.deepEqual(t.prober.calls.slice(done).map((c) => c.atMs - start), [200]);
    // a probe that takes 300 ms: the next one starts 1000 + 200 after it ends
    t.prober.set("10.0.0.1:1", () => new Promise<ProbeResult>((r) => t.clock.setTimer(() => r(OK), 300)));
    await t.clock.advance(3000);
    const times = t.prober.calls.slice(done).map((c) => c.atMs - start);
    assert.deepEqual(times, [200, 1400, 2900]);
  });

  test("one timer per upstream, whatever its size; none after stop, and late results change nothing", async () => {
    const addresses = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:1`);
    const t = setup({ intervalMs: 1000, jitterMs: 1000 }, addresses);
    t.clock.rand = 0.37;
    for (let i = 0; i < 10; i++) {
      t.clock.rand = (t.clock.rand * 7.3) % 1;
      await t.clock.advance(250);
      assert.ok(t.clock.timers.size <= 1, `${t.clock.timers.size} timers`);
      assert.equal(t.monitor.timers, 1);
    }
    assert.ok(t.prober.calls.length >= 1000, `${t.prober.calls.length} probes in 2.5 s`);
    let release!: () => void;
    t.prober.set("10.0.0.0:1", () => new Promise<ProbeResult>((r) => (release = () => r(REFUSED))));
    await t.clock.advance(2500);
    t.monitor.stop();
    assert.equal(t.clock.timers.size, 0);
    assert.equal(t.monitor.timers, 0);
    release();
    await settle();
    assert.notEqual(t.peer("10.0.0.0:1").health, "unhealthy", "a result after stop is dropped");
    const calls = t.prober.calls.length;
    await t.clock.advance(10_000);
    assert.equal(t.prober.calls.length, calls);
  });

  test("stop aborts probes in flight through the signal", async () => {
    const t = setup({ intervalMs: 1000 });
    let signal: AbortSignal | undefined;
    t.prober.set("10.0.0.1:1", (_t, o) => {
      signal = o.signal;
      return new Promise<ProbeResult>(() => {});
    });
    await t.clock.advance(0);
    assert.equal(signal?.aborted, false);
    t.monitor.stop();
    assert.equal(signal?.aborted, true);
  });

  test("port= probes another port; servers marked down in the config are not probed", async () => {
    const t = setup({ intervalMs: 1000, port: 7000 });
    await t.clock.advance(0);
    assert.deepEqual(
      t.prober.calls.map((c) => `${c.target.host}:${c.target.port}`),
      ["10.0.0.1:7000", "10.0.0.2:7000"],
    );
    const t2 = setup({ intervalMs: 1000 });
    await t2.clock.advance(0);
    t2.upstream.update({ ...t2.upstream.config, servers: [server("10.0.0.1:1", { down: true }), server("10.0.0.2:1")] });
    t2.monitor.sync(t2.upstream);
    await t2.clock.advance(5000);
    assert.equal(t2.prober.count("10.0.0.1:1"), 1, "only the check before it was marked down");
  });
});

describe("health checks: reloads and runtime changes", () => {
  test("without persistent a reload restarts kept servers from the initial state (Plus)", async () => {
    const t = setup({ intervalMs: 1000 });
    const a = t.peer("10.0.0.1:1");
    t.prober.set("10.0.0.1:1", REFUSED);
    await t.clock.advance(0);
    assert.equal(a.health, "unhealthy");
    t.reload(["10.0.0.1:1", "10.0.0.2:1"]);
    assert.equal(a.health, "unchecked", "usable again until its next check");
    await t.clock.advance(0);
    assert.equal(a.health, "unhealthy", "checked again at once");
  });

  test("mandatory without persistent: every kept server is checking again after a reload", async () => {
    const t = setup({ intervalMs: 1000, mandatory: true });
    await t.clock.advance(0);
    assert.equal(t.peer("10.0.0.1:1").health, "healthy");
    t.reload(["10.0.0.1:1", "10.0.0.2:1"]);
    assert.equal(t.peer("10.0.0.1:1").health, "unhealthy");
    await t.clock.advance(0);
    assert.equal(t.peer("10.0.0.1:1").health, "healthy");
  });

  test("mandatory persistent: kept servers keep their health, a new one starts checking", async () => {
    const t = setup({ intervalMs: 1000, mandatory: true, persistent: true, fails: 1 });
    t.prober.set("10.0.0.2:1", REFUSED);
    await t.clock.advance(0);
    const [a, b] = [t.peer("10.0.0.1:1"), t.peer("10.0.0.2:1")];
    assert.deepEqual([a.health, b.health], ["healthy", "unhealthy"]);
    t.reload(["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]);
    const c = t.peer("10.0.0.3:1");
    assert.deepEqual([a.health, b.health, c.health], ["healthy", "unhealthy", "unhealthy"]);
    // the picker gives the new server nothing before its first pass
    const picker = createPicker({ kind: "round_robin" });
    for (let i = 0; i < 6; i++) assert.equal(picker.pick(new PeerSelection(t.upstream, 0), context())?.address, "10.0.0.1:1");
    await t.clock.advance(0);
    assert.equal(c.health, "healthy");
  });

  test("a removed server's check stops, and its result in flight is dropped", async () => {
    const t = setup({ intervalMs: 1000 });
    let release!: () => void;
    t.prober.set("10.0.0.2:1", () => new Promise<ProbeResult>((r) => (release = () => r(REFUSED))));
    await t.clock.advance(0);
    const b = t.peer("10.0.0.2:1");
    t.reload(["10.0.0.1:1"]);
    release();
    await t.clock.advance(5000);
    assert.equal(b.health, "unchecked");
    assert.equal(t.prober.count("10.0.0.2:1"), 1);
    assert.deepEqual(t.lines, []);
  });

  test("a reload that removes the check puts every server back in play and leaves no timer", async () => {
    const t = setup({ intervalMs: 1000 });
    t.prober.set("10.0.0.1:1", REFUSED);
    await t.clock.advance(0);
    assert.equal(t.peer("10.0.0.1:1").health, "unhealthy");
    t.reload(["10.0.0.1:1", "10.0.0.2:1"], null);
    assert.equal(t.peer("10.0.0.1:1").health, "unchecked");
    assert.equal(t.clock.timers.size, 0);
  });

  test("servers the admin API adds are checked at once (sync), and at the next tick without it", async () => {
    const t = setup({ intervalMs: 1000, mandatory: true });
    await t.clock.advance(0);
    t.upstream.update({ ...t.upstream.config, servers: [...t.upstream.config.servers, server("10.0.0.3:1")] });
    t.monitor.sync(t.upstream);
    assert.equal(t.peer("10.0.0.3:1").health, "unhealthy", "mandatory: checking");
    await t.clock.advance(0);
    assert.equal(t.peer("10.0.0.3:1").health, "healthy");
    t.upstream.update({ ...t.upstream.config, servers: [...t.upstream.config.servers, server("10.0.0.4:1")] });
    await t.clock.advance(1000);
    assert.equal(t.prober.count("10.0.0.4:1"), 1);
  });
});

describe("health checks: send/expect verdicts", () => {
  const reply = (text: string): ProbeResult => ({ kind: "ok", received: bytes(text) });

  test("the options carry the bytes to send, the reply limit (proxy_buffer_size) and the matcher", async () => {
    const t = setup({ send: "PING\r\n", expect: { kind: "bytes", bytes: "PONG" } });
    let options: ProbeOptions | null = null;
    t.prober.set("10.0.0.1:1", (_t, o) => ((options = o), reply("+PONG\r\n")));
    await t.clock.advance(0);
    const o = options as ProbeOptions | null;
    assert.deepEqual([...o!.send!], [...bytes("PING\r\n")]);
    assert.equal(o!.maxBytes, 64);
    assert.equal(o!.enough(bytes("xxPONx")), false);
    assert.equal(o!.enough(bytes("xxPONGx")), true);
    assert.deepEqual(t.peer("10.0.0.1:1").lastCheck?.detail, "reply matched");
  });

  test("wrong bytes, no reply, a slow reply: each fails, saying why", async () => {
    const t = setup({ send: "PING\r\n", expect: { kind: "bytes", bytes: "PONG" } }, ["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]);
    t.prober.set("10.0.0.1:1", reply("-ERR \x01\n"));
    t.prober.set("10.0.0.2:1", reply(""));
    t.prober.set("10.0.0.3:1", { kind: "timeout", stage: "reply" });
    await t.clock.advance(0);
    assert.deepEqual(t.lines, [
      `[warn] server 10.0.0.1:1 of upstream chat is down: the reply did not match "PONG": got "-ERR \\x01\\n"`,
      `[warn] server 10.0.0.2:1 of upstream chat is down: the server closed the connection without a reply matching "PONG"`,
      `[warn] server 10.0.0.3:1 of upstream chat is down: timed out (110: Connection timed out) waiting for a reply matching "PONG"`,
    ]);
  });

  test("regular expressions match bytewise, ~* ignores case", async () => {
    const t = setup({ expect: { kind: "regex", pattern: "^\\+pong\\s\\xff$", caseless: true } }, ["10.0.0.1:1", "10.0.0.2:1"]);
    t.prober.set("10.0.0.1:1", { kind: "ok", received: new Uint8Array([...bytes("+PONG\n"), 0xff]) });
    t.prober.set("10.0.0.2:1", reply("+PONG\n"));
    await t.clock.advance(0);
    assert.equal(t.peer("10.0.0.1:1").health, "healthy");
    assert.equal(t.peer("10.0.0.2:1").health, "unhealthy");
    assert.match(t.lines[0]!, /did not match ~\* "\^\\\\\+pong\\\\s\\\\xff\$"/);
  });

  test("without expect no reply is read; with send only, sending is the check", async () => {
    const t = setup({ send: "x" });
    let options: ProbeOptions | null = null;
    t.prober.set("10.0.0.1:1", (_t, o) => ((options = o), OK));
    await t.clock.advance(0);
    assert.equal((options as ProbeOptions | null)!.maxBytes, 0);
    assert.equal(t.peer("10.0.0.1:1").lastCheck?.detail, "sent");
  });
});

describe("health checks with the balancer's other rules", () => {
  test("a server marked down reports to the session owner; dropped sessions are logged", async () => {
    const t = setup({ intervalMs: 1000 });
    t.setDropCount(3);
    t.prober.set("10.0.0.1:1", REFUSED);
    await t.clock.advance(0);
    assert.deepEqual(t.downs, [t.peer("10.0.0.1:1")]);
    assert.equal(t.lines[1], "[notice] closed 3 session(s) to server 10.0.0.1:1 of upstream chat (proxy_session_drop)");
  });

  test("passive failures still count; a server down by checks is never the passive probe", async () => {
    let now = 1000;
    const up = new Upstream(
      {
        name: "u",
        method: { kind: "round_robin" },
        servers: [server("10.0.0.1:1", { maxFails: 1, failTimeoutMs: 10_000 }), server("10.0.0.2:1")],
        implicit: false,
        healthCheck: null,
        loc,
      },
      () => now,
    );
    const [a, b] = [...up.allPeers()] as [Peer, Peer];
    const picker = createPicker({ kind: "round_robin" });
    const pick = () => {
      const sel = new PeerSelection(up, 0);
      const p = picker.pick(sel, context());
      return { sel, p };
    };
    // a passive failure takes `a` out for fail_timeout, health checks or not
    const first = pick();
    assert.equal(first.p, a);
    first.sel.failed();
    assert.equal(pick().p, b);
    assert.equal(pick().p, b);
    // active checks mark it unhealthy: after fail_timeout the passive probe would try it, but it is skipped
    a.health = "unhealthy";
    now += 60;
    for (let i = 0; i < 5; i++) assert.equal(pick().p, b);
    a.health = "healthy";
    const seen = new Set([pick().p, pick().p, pick().p, pick().p]);
    assert.ok(seen.has(a), "back in play once checks pass");
  });
});
