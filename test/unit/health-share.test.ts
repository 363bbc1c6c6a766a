// Health sharing between workers: the probing monitor publishes each change, a follower
// runs no probes and applies what it receives (down drops sessions, up recovers).
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Config, DEFAULT_HEALTH_CHECK, type UpstreamConfig } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { type HealthClock, HealthMonitor, type HealthShare, primeHealth } from "../../src/core/health.ts";
import type { Logger } from "../../src/core/log.ts";
import type { ProbeResult } from "../../src/core/runtime.ts";
import { type Peer, Upstream } from "../../src/core/upstream.ts";
import { server } from "../support/peers.ts";

const loc = { file: "t", line: 1, col: 1 };
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** Timers that fire only when the test says so; each firing is an hour later, so all are due. */
function manualClock(): HealthClock & { fire(): void; pending(): number } {
  let timers: Array<() => void> = [];
  let ms = 0;
  return {
    now: () => ms,
    random: () => 0,
    setTimer: (fn) => (timers.push(fn), fn),
    clearTimer: (h) => void (timers = timers.filter((t) => t !== h)),
    fire: () => {
      ms += 3_600_000;
      const due = timers;
      timers = [];
      for (const t of due) t();
    },
    pending: () => timers.length,
  };
}

function world(share: HealthShare, result: () => ProbeResult) {
  const clock = manualClock();
  let probes = 0;
  const prober = { probe: async () => (probes++, result()) };
  const logger: Logger = { enabled: () => true, log: () => undefined };
  const downs: Peer[] = [];
  const monitor = new HealthMonitor(prober, logger, (p) => (downs.push(p), 0), clock, share);
  const config: UpstreamConfig = {
    name: "chat",
    method: { kind: "round_robin" },
    servers: [server("10.0.0.1:1")],
    implicit: false,
    healthCheck: { ...DEFAULT_HEALTH_CHECK, fails: 1, passes: 1 },
    loc,
  } as unknown as UpstreamConfig;
  const upstream = primeHealth(new Upstream(config));
  const upstreams = new Map([["chat", upstream]]);
  monitor.apply(upstreams, {
    stream: { upstreams: new Map([["chat", config]]), servers: [{ proxyPass: "chat", proxy: DEFAULT_PROXY_SETTINGS }] },
  } as unknown as Config);
  const peer = [...upstream.allPeers()][0]!;
  return { clock, monitor, upstreams, peer, downs, probes: () => probes };
}

test("worker 0 publishes its verdicts and a follower applies them without probing", async () => {
  let reply: ProbeResult = { kind: "refused" };
  const sent: Array<[string, string, Peer["health"]]> = [];
  const prober = world({ probes: true, publish: (u, s, h) => void sent.push([u, s, h]) }, () => reply);
  const follower = world({ probes: false, publish: () => assert.fail("a follower publishes nothing") }, () => reply);

  assert.equal(follower.clock.pending(), 0, "a follower arms no timer");
  prober.clock.fire();
  await settle();
  assert.deepEqual(sent, [["chat", "10.0.0.1:1", "unhealthy"]]);

  for (const [u, s, h] of sent) follower.monitor.receive(follower.upstreams, u, s, h);
  assert.equal(follower.peer.health, "unhealthy");
  assert.deepEqual(follower.downs, [follower.peer], "a shared down drops sessions like a local one");

  reply = { kind: "ok", received: new Uint8Array(0) };
  prober.clock.fire();
  await settle();
  assert.deepEqual(sent.at(-1), ["chat", "10.0.0.1:1", "healthy"]);
  follower.monitor.receive(follower.upstreams, "chat", "10.0.0.1:1", "healthy");
  assert.equal(follower.peer.health, "healthy");
  // Unknown names are ignored (a reload may have removed them).
  follower.monitor.receive(follower.upstreams, "gone", "10.0.0.1:1", "unhealthy");
  assert.equal(follower.probes(), 0);
});
