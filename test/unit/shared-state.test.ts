// The state worker processes share, with the master's hub and two or three workers wired in
// memory: counters that hold a limit over every worker, least_conn and max_conns weighing
// every worker's sessions, passive failures seen by all, and /status summing the workers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leastConn } from "../../src/core/balance/least-conn.ts";
import { CounterTable, LocalCounters, RemoteCounters } from "../../src/core/shared-counters.ts";
import { SharedPeers } from "../../src/core/shared-peers.ts";
import { sumSnapshots } from "../../src/core/status-sum.ts";
import type { StatusSnapshot } from "../../src/core/status.ts";
import { type Peer, type Upstream } from "../../src/core/upstream.ts";
import { PeerSelection } from "../../src/core/peer-selection.ts";
import { roundRobin } from "../../src/core/balance/round-robin.ts";
import { type HubWorker, WorkerHub } from "../../src/core/worker-hub.ts";
import type { WorkerMessage } from "../../src/core/worker-messages.ts";
import { context, hold, server, upstream } from "../support/peers.ts";

/** A master hub and workers whose messages are delivered when `deliver()` is called, in order. */
class Wires {
  readonly queue: (() => void)[] = [];
  readonly inbox = new Map<number, (m: WorkerMessage) => void>();
  readonly handles = new Map<number, HubWorker>();
  readonly hub = new WorkerHub(() => this.handles);

  join(index: number, onMessage: (m: WorkerMessage) => void): (m: WorkerMessage) => void {
    this.inbox.set(index, onMessage);
    // JSON both ways, as the real channels carry it.
    this.handles.set(index, { send: (m) => this.queue.push(() => this.inbox.get(index)?.(JSON.parse(JSON.stringify(m)))) });
    this.hub.joined(index);
    return (m) => this.queue.push(() => this.hub.receive(index, JSON.parse(JSON.stringify(m))));
  }

  leave(index: number): void {
    this.handles.delete(index);
    this.inbox.delete(index);
    this.hub.left(index);
  }

  deliver(): void {
    while (this.queue.length) this.queue.shift()!();
  }
}

describe("shared counters", () => {
  test("one process: the limit holds, a release frees a unit, keys and zones are apart", () => {
    const c = new LocalCounters();
    assert.deepEqual([1, 2, 3].map(() => c.acquire("z", "10.0.0.1", 2)), [true, true, false]);
    assert.equal(c.acquire("z", "10.0.0.2", 2), true, "another key has its own count");
    assert.equal(c.acquire("other", "10.0.0.1", 2), true, "another zone has its own count");
    c.release("z", "10.0.0.1");
    assert.equal(c.count("z", "10.0.0.1"), 1);
    assert.equal(c.acquire("z", "10.0.0.1", 2), true);
    c.release("z", "nobody");
    assert.equal(c.count("z", "nobody"), 0, "a release without an acquire takes nothing below zero");
  });

  test("the table gives back what a dead owner held, and only that", () => {
    const t = new CounterTable();
    assert.ok(t.acquire(1, "z", "k", 3) && t.acquire(1, "z", "k", 3) && t.acquire(2, "z", "k", 3));
    assert.equal(t.acquire(2, "z", "k", 3), false);
    t.release(2, "z", "k");
    t.release(2, "z", "k"); // owner 2 held one: the second release is not its to make
    assert.equal(t.count("z", "k"), 2);
    t.drop(1);
    assert.equal(t.count("z", "k"), 0);
  });

  test("two workers: the limit holds over both, a dead worker's units come back, no master refuses", async () => {
    const wires = new Wires();
    const counters: RemoteCounters[] = [];
    for (const i of [0, 1]) {
      const c: RemoteCounters = new RemoteCounters(wires.join(i, (m) => m.type === "acquired" && c.answered(m.id, m.ok)));
      counters.push(c);
    }
    const [a, b] = counters as [RemoteCounters, RemoteCounters];
    // Five asks from each at the same moment: exactly three of the ten are granted.
    const asks = [...Array(5)].flatMap(() => [a.acquire("perip", "10.0.0.1", 3), b.acquire("perip", "10.0.0.1", 3)]);
    wires.deliver();
    const granted = (await Promise.all(asks)).filter(Boolean).length;
    assert.equal(granted, 3);
    assert.equal(wires.hub.counters.count("perip", "10.0.0.1"), 3);

    // Worker 1 dies holding its units: they are given back.
    const heldByB = (await Promise.all(asks.filter((_, i) => i % 2 === 1))).filter(Boolean).length;
    wires.leave(1);
    assert.equal(wires.hub.counters.count("perip", "10.0.0.1"), 3 - heldByB);

    // A release from worker 0 frees one for the next ask.
    const before = wires.hub.counters.count("perip", "10.0.0.1");
    if (before > 0) {
      a.release("perip", "10.0.0.1");
      wires.deliver();
      assert.equal(wires.hub.counters.count("perip", "10.0.0.1"), before - 1);
    }

    // Without the master nothing can say the limit holds: refused, at once and later.
    const waiting = a.acquire("perip", "10.0.0.9", 100);
    a.close();
    assert.equal(await waiting, false);
    assert.equal(await a.acquire("perip", "10.0.0.9", 100), false);
  });
});

/** A worker's upstreams and its SharedPeers, batches flushed by hand. */
function worker(wires: Wires, index: number, up: Upstream): { shared: SharedPeers; flush(): void } {
  let pending: (() => void) | null = null;
  const shared: SharedPeers = new SharedPeers(
    wires.join(index, (m) => (m.type === "conns" || m.type === "passive") && shared.receive(m)),
    () => [up],
    (run) => (pending = run),
  );
  up.attach(shared);
  shared.applied();
  return { shared, flush: () => pending?.() };
}

describe("shared peer state", () => {
  test("least_conn over two workers spreads held sessions as one worker does", () => {
    const method = { kind: "least_conn" } as const;
    const wires = new Wires();
    const ups = [0, 1].map(() => upstream([server("a:1"), server("b:1"), server("c:1")], method));
    const ws = ups.map((u, i) => worker(wires, i, u));
    wires.deliver();
    const alone = upstream([server("a:1"), server("b:1"), server("c:1")], method);
    // Nine sessions, arriving at workers 0,0,1,0,1,1,0,1,1 (as the kernel might spread them).
    const order = [0, 0, 1, 0, 1, 1, 0, 1, 1];
    for (const w of order) {
      hold(ups[w]!, leastConn, context());
      hold(alone, leastConn, context());
      ws[w]!.flush();
      wires.deliver();
    }
    const total = (address: string) => ups.reduce((n, u) => n + [...u.allPeers()].find((p) => p.address === address)!.conns, 0);
    assert.deepEqual(["a:1", "b:1", "c:1"].map(total), [3, 3, 3], "three each over both workers");
    assert.deepEqual([...alone.allPeers()].map((p) => p.conns), [3, 3, 3], "as one worker alone");
    for (const u of ups) {
      assert.deepEqual([...u.allPeers()].map((p) => p.allConns), [3, 3, 3], "each worker weighs the sum");
    }
  });

  test("max_conns counts every worker's sessions; a dead worker's sessions stop counting", () => {
    const wires = new Wires();
    const ups = [0, 1].map(() => upstream([server("a:1", { maxConns: 2 }), server("b:1")]));
    const ws = ups.map((u, i) => worker(wires, i, u));
    const [a0, a1] = ups.map((u) => [...u.allPeers()][0]!) as [Peer, Peer];
    new PeerSelection(ups[0]!, 0).take(a0, ups[0]!.primary);
    new PeerSelection(ups[1]!, 0).take(a1, ups[1]!.primary);
    ws.forEach((w) => w.flush());
    wires.deliver();
    assert.deepEqual([a0.allConns, a1.allConns], [2, 2]);
    assert.equal(a0.atMaxConns(), true, "full over both workers, though each has one");
    assert.deepEqual([0, 1, 2].map(() => hold(ups[0]!, roundRobin, context()).current!.address), ["b:1", "b:1", "b:1"]);
    wires.leave(1);
    wires.deliver();
    assert.equal(a0.allConns, 1);
    assert.equal(hold(ups[0]!, roundRobin, context()).current!.address, "a:1", "a takes sessions again");
  });

  test("a server max_fails took out in one worker is out in the other, and back when it recovers", () => {
    let now = 1000;
    const clock = () => now;
    const wires = new Wires();
    const ups = [0, 1].map(() =>
      upstream([server("a:1", { maxFails: 1, failTimeoutMs: 10_000 }), server("b:1")], { kind: "round_robin" }, clock)
    );
    ups.forEach((u, i) => worker(wires, i, u));
    const a0 = [...ups[0]!.allPeers()][0]!;
    const a1 = [...ups[1]!.allPeers()][0]!;
    const sel = hold(ups[0]!, roundRobin, context());
    assert.equal(sel.current, a0);
    sel.failed();
    wires.deliver();
    assert.equal(a1.failedOut(now), true, "worker 1 counts it out too");
    now += 11;
    a0.checkedSec = now; // the pick after fail_timeout that probes it, as the pickers do
    const probe = new PeerSelection(ups[0]!, 0);
    probe.take(a0, ups[0]!.primary);
    probe.connected();
    wires.deliver();
    assert.equal(a1.fails, 0, "its recovery reached worker 1");
  });

  test("a plain round robin upstream sends nothing per session", () => {
    const wires = new Wires();
    const up = upstream([server("a:1"), server("b:1")]);
    const w = worker(wires, 0, up);
    wires.deliver();
    for (let i = 0; i < 10; i++) hold(up, roundRobin, context()).release();
    w.flush();
    assert.equal(wires.queue.length, 0);
  });
});

describe("/status over every worker", () => {
  const part = (active: number, total: number, bytes: number): StatusSnapshot => ({
    version: "v",
    runtime: { name: "node", version: "20" },
    pid: 1,
    started: new Date(0).toISOString(),
    uptime_seconds: 1,
    config: { file: null, generation: 1 },
    accepting: true,
    sessions: { active },
    listeners: [{
      listen: "127.0.0.1:8000",
      protocol: "tcp",
      address: "127.0.0.1:8000",
      upstream: "u",
      connections: { total, active },
      sessions: { "200": total - active },
      bytes: { received: bytes, sent: bytes * 2 },
    }],
    upstreams: {
      u: {
        name: "u",
        method: "least_conn",
        state_file: null,
        servers_up: 1,
        servers_total: 1,
        servers: [{
          address: "127.0.0.1:6000",
          backup: false,
          weight: 1,
          state: "up",
          down: false,
          drain: false,
          health: "unchecked",
          last_check: null,
          health_checks: null,
          active,
          connections_total: total,
          max_conns: 0,
          fails: 0,
          connect_failures: 1,
          unavailable_total: 0,
          max_fails: 1,
          fail_timeout: "10s",
          bytes: { sent: bytes, received: bytes * 2 },
          last_session: new Date(total * 1000).toISOString(),
        }],
      },
    },
  });

  test("sums sessions, connections, statuses and bytes; skips a part that is not a snapshot", () => {
    const s = sumSnapshots(part(2, 10, 100), [part(3, 20, 1000), null, { junk: true }]);
    assert.equal(s.workers, 2);
    assert.equal(s.sessions.active, 5);
    assert.deepEqual(s.listeners[0]!.connections, { total: 30, active: 5 });
    assert.deepEqual(s.listeners[0]!.sessions, { "200": 25 });
    assert.deepEqual(s.listeners[0]!.bytes, { received: 1100, sent: 2200 });
    const srv = s.upstreams["u"]!.servers[0]!;
    assert.equal(srv.active, 5);
    assert.equal(srv.connections_total, 30);
    assert.equal(srv.connect_failures, 2);
    assert.deepEqual(srv.bytes, { sent: 1100, received: 2200 });
    assert.equal(srv.last_session, new Date(20_000).toISOString(), "the latest of the workers'");
  });
});
