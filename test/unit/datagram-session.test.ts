// UDP sessions against an in-memory datagram runtime and a hand-driven clock: what starts a
// session, what ends it (proxy_requests, proxy_responses, proxy_timeout, ICMP unreachable),
// which peer it uses, and that datagrams go through one by one or are dropped, never queued.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/index.ts";
import type { AccessRuleConfig, BalanceMethod, ProxySettings } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import { DatagramRouter } from "../../src/core/datagram-router.ts";
import { PENDING_DATAGRAMS } from "../../src/core/datagram-session.ts";
import type { Logger } from "../../src/core/log.ts";
import { accessPhase, AccessRules } from "../../src/core/phases/access.ts";
import type { Route } from "../../src/core/session.ts";
import type { SessionOutcome } from "../../src/core/session-outcome.ts";
import { FakeDatagrams, ManualClock, settle } from "../support/fake-datagrams.ts";
import { server, upstream } from "../support/peers.ts";

const loc = { file: "t", line: 1, col: 1 };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

interface Options {
  readonly proxy?: Partial<ProxySettings>;
  readonly servers?: readonly string[];
  readonly method?: BalanceMethod;
  readonly workerConnections?: number;
  readonly access?: readonly AccessRuleConfig[];
  readonly maxFails?: number;
}

function setup(options: Options = {}) {
  const fake = new FakeDatagrams();
  const clock = new ManualClock();
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const method = options.method ?? { kind: "round_robin" };
  const servers = (options.servers ?? ["127.0.0.1:7001"]).map((a) => server(a, { maxFails: options.maxFails ?? 1 }));
  const up = upstream(servers, method);
  const rules = AccessRules.compile(options.access ?? []);
  const route: Route = {
    server: {
      listen: [],
      proxyPass: "u",
      proxy: { ...DEFAULT_PROXY_SETTINGS, ...options.proxy },
      accessLog: [],
      access: [],
      return: null,
      set: [],
      loc,
    },
    target: { upstream: up, picker: createPicker(method) },
    listenName: "127.0.0.1:5300",
    phases: rules ? [accessPhase(rules)] : [],
  };
  const budget = new ConnectionBudget(logger, false, clock);
  budget.configure(options.workerConnections ?? 512, 1);
  const ended: SessionOutcome[] = [];
  const sessions: { abort(): void }[] = [];
  let id = 1;
  const router = new DatagramRouter({
    runtime: fake.runtime,
    logger,
    budget,
    clock,
    route: () => route,
    nextId: () => id++,
    started: (session) => void sessions.push(session),
    ended: (_s, outcome) => void ended.push(outcome),
  });
  router.listener = fake.listener;
  const send = async (data: string | Uint8Array, port = 50000, address = "127.0.0.1") => {
    router.receive(typeof data === "string" ? bytes(data) : data, address, port);
    await settle();
  };
  return { fake, clock, lines, router, ended, budget, up, send, sessions };
}

describe("UDP session: what ends it", () => {
  test("proxy_responses 1: the reply goes back from the listener to the client's port and ends the session; the next datagram starts a new one", async () => {
    const t = setup({ proxy: { proxyResponses: 1 } });
    await t.send("q1", 50001);
    assert.equal(t.fake.sockets.length, 1);
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["q1"]);
    t.fake.sockets[0]!.reply("a1");
    assert.deepEqual(t.fake.toClients.map((d) => [d.address, d.port, text(d.data)]), [["127.0.0.1", 50001, "a1"]]);
    assert.equal(t.ended.length, 1);
    assert.equal(t.ended[0]!.status, 200);
    assert.equal(t.fake.sockets[0]!.closed, true);
    assert.equal(t.router.size, 0);
    assert.ok(t.lines.some((l) => l.includes("udp done, packets from/to client:1/1, bytes from/to client:2/2")));
    await t.send("q2", 50001);
    assert.equal(t.fake.sockets.length, 2, "a new session, with its own upstream socket");
    assert.equal(t.budget.used, 1 + 2, "the listener, and the second session's client and upstream");
  });

  test("proxy_responses 0: the session ends as soon as the datagram is forwarded (fire and forget)", async () => {
    const t = setup({ proxy: { proxyResponses: 0 } });
    await t.send("log line");
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["log line"]);
    assert.equal(t.ended.length, 1);
    assert.equal(t.ended[0]!.status, 200);
    assert.equal(t.clock.pending, 0, "no timer is left behind");
    assert.equal(t.budget.used, 1);
  });

  test("proxy_responses 2 waits for two replies per datagram", async () => {
    const t = setup({ proxy: { proxyResponses: 2 } });
    await t.send("q");
    t.fake.sockets[0]!.reply("a");
    assert.equal(t.ended.length, 0);
    t.fake.sockets[0]!.reply("b");
    assert.equal(t.ended.length, 1);
    assert.deepEqual(t.fake.toClients.map((d) => text(d.data)), ["a", "b"]);
  });

  test("without proxy_responses, a session lives on across replies and ends on proxy_timeout as a normal end (200)", async () => {
    const t = setup({ proxy: { proxyTimeoutMs: 1000 } });
    await t.send("1");
    t.fake.sockets[0]!.reply("r1");
    await t.send("2");
    t.fake.sockets[0]!.reply("r2");
    assert.equal(t.fake.sockets.length, 1, "one session, one socket");
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["1", "2"]);
    t.clock.advance(999);
    assert.equal(t.ended.length, 0);
    t.clock.advance(1);
    assert.equal(t.ended.length, 1);
    assert.equal(t.ended[0]!.status, 200);
    assert.ok(t.lines.some((l) => l.includes("udp timed out, packets from/to client:2/2")));
  });

  test("proxy_timeout is idle time: traffic in either direction moves the deadline", async () => {
    const t = setup({ proxy: { proxyTimeoutMs: 1000 } });
    await t.send("1");
    t.clock.advance(800);
    t.fake.sockets[0]!.reply("r");
    t.clock.advance(800);
    assert.equal(t.ended.length, 0);
    t.clock.advance(200);
    assert.equal(t.ended.length, 1);
  });

  test("a timeout with replies still due is nginx's 502: upstream timed out, and the peer takes a failure", async () => {
    const t = setup({ proxy: { proxyResponses: 1, proxyTimeoutMs: 1000 }, servers: ["127.0.0.1:7001", "127.0.0.1:7002"] });
    await t.send("q");
    t.clock.advance(1000);
    assert.equal(t.ended[0]!.status, 502);
    assert.ok(
      t.lines.some((l) => l.startsWith("[error] *1 upstream timed out (110: Connection timed out) while proxying connection")),
    );
    const failed = t.up.primary.peers.find((p) => p.address === "127.0.0.1:7001")!;
    assert.equal(failed.fails, 1);
    // max_fails=1: the next sessions go to the other server only.
    for (let port = 50010; port < 50014; port++) await t.send("q", port);
    assert.deepEqual(t.fake.sockets.slice(1).map((s) => s.target), Array(4).fill("127.0.0.1:7002"));
  });

  test("proxy_requests 1: every datagram gets its own session and pick; each waits for its replies apart", async () => {
    const t = setup({ proxy: { proxyRequests: 1, proxyResponses: 1 }, servers: ["127.0.0.1:7001", "127.0.0.1:7002"] });
    await t.send("a");
    await t.send("b");
    assert.deepEqual(t.fake.sockets.map((s) => s.target), ["127.0.0.1:7001", "127.0.0.1:7002"]);
    assert.equal(t.router.size, 0, "both left the table at once");
    t.fake.sockets[1]!.reply("B");
    t.fake.sockets[0]!.reply("A");
    assert.equal(t.ended.length, 2);
    assert.deepEqual(t.fake.toClients.map((d) => text(d.data)), ["B", "A"]);
  });

  test("proxy_requests 2: two datagrams share a session, the third starts a new one", async () => {
    const t = setup({ proxy: { proxyRequests: 2 } });
    await t.send("1");
    await t.send("2");
    await t.send("3");
    assert.deepEqual(t.fake.sockets.map((s) => s.sent.map(text)), [["1", "2"], ["3"]]);
  });

  test("an ICMP port unreachable ends the session as nginx does: a zero-length datagram, 200, and a failure on the peer", async () => {
    const t = setup({ proxy: { proxyResponses: 1 }, servers: ["127.0.0.1:7001", "127.0.0.1:7002"] });
    await t.send("q");
    t.fake.sockets[0]!.refuse();
    assert.equal(t.ended[0]!.status, 200);
    assert.deepEqual(t.fake.toClients.map((d) => d.data.length), [0]);
    assert.ok(
      t.lines.some((l) => l.includes("recv() failed (111: Connection refused) while proxying and reading from upstream")),
    );
    assert.ok(t.lines.some((l) => l.startsWith("[warn] *1 upstream server temporarily disabled")));
    for (let port = 50010; port < 50013; port++) await t.send("q", port);
    assert.deepEqual(t.fake.sockets.slice(1).map((s) => s.target), Array(3).fill("127.0.0.1:7002"));
  });
});

describe("UDP session: datagrams", () => {
  test("datagrams go upstream one by one, never merged or split, in order", async () => {
    const t = setup();
    const sizes = [1, 0, 500, 16384, 3, 1200];
    for (const [i, n] of sizes.entries()) await t.send(new Uint8Array(n).fill(i));
    assert.deepEqual(t.fake.sockets[0]!.sent.map((d) => d.length), sizes);
    assert.ok(t.fake.sockets[0]!.sent.every((d, i) => d.every((b) => b === i)));
  });

  test("a later datagram beyond proxy_buffer_size is cut to it, as nginx reads it into that buffer; the first is whole", async () => {
    const t = setup({ proxy: { proxyBufferSize: 100 } });
    await t.send(new Uint8Array(300));
    await t.send(new Uint8Array(300));
    t.fake.sockets[0]!.reply(new Uint8Array(250));
    assert.deepEqual(t.fake.sockets[0]!.sent.map((d) => d.length), [300, 100]);
    assert.deepEqual(t.fake.toClients.map((d) => d.data.length), [100]);
  });

  test("while the upstream socket opens, datagrams wait within a bound; beyond it they are dropped and counted", async () => {
    const t = setup();
    t.fake.hold();
    for (let i = 0; i < PENDING_DATAGRAMS + 10; i++) t.router.receive(bytes(String(i)), "127.0.0.1", 50000);
    t.fake.release();
    await settle();
    assert.equal(t.fake.sockets[0]!.sent.length, PENDING_DATAGRAMS);
    assert.equal(text(t.fake.sockets[0]!.sent.at(-1)!), String(PENDING_DATAGRAMS - 1));
    assert.equal(t.router.drops.dropped, 10);
  });

  test("clients on the same port from different addresses are different sessions, before and after one ends", async () => {
    const t = setup({ proxy: { proxyRequests: 2 } });
    await t.send("a1", 50000, "127.0.0.1");
    await t.send("b1", 50000, "127.0.0.2");
    await t.send("c1", 50001, "127.0.0.1");
    assert.equal(t.router.size, 3);
    // The first client's session ends (proxy_requests 2); the second keeps its own.
    await t.send("a2", 50000, "127.0.0.1");
    await t.send("b2", 50000, "127.0.0.2");
    assert.equal(t.router.size, 1);
    await t.send("a3", 50000, "127.0.0.1");
    assert.equal(t.router.size, 2);
    assert.deepEqual(t.fake.sockets.map((s) => s.sent.map(text)), [["a1", "a2"], ["b1", "b2"], ["c1"], ["a3"]]);
  });

  test("a socket that takes no more drops the datagram and counts it, in both directions", async () => {
    const t = setup();
    await t.send("1");
    t.fake.sockets[0]!.sendResult = "dropped";
    await t.send("2");
    t.fake.listenerSendResult = "dropped";
    t.fake.sockets[0]!.reply("r");
    assert.equal(t.router.drops.dropped, 2);
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["1"]);
    assert.equal(t.fake.toClients.length, 0);
  });
});

describe("UDP session: proxy_upload_rate and proxy_download_rate", () => {
  test("upload: while the rate pauses reading, the client's datagrams are dropped; whole datagrams pass once it allows", async () => {
    const t = setup({ proxy: { proxyUploadRate: 500 } });
    await t.send(new Uint8Array(1000), 50000);
    await t.send(new Uint8Array(1000), 50000);
    assert.deepEqual(t.fake.sockets[0]!.sent.map((d) => d.length), [1000], "the second is dropped");
    assert.equal(t.router.drops.dropped, 1);
    t.clock.advance(2100);
    await t.send(new Uint8Array(1000), 50000);
    assert.deepEqual(t.fake.sockets[0]!.sent.map((d) => d.length), [1000, 1000], "never split to the budget");
  });

  test("download: a reply that comes while reading is paused waits, then goes out whole and in order", async () => {
    const t = setup({ proxy: { proxyDownloadRate: 500 } });
    await t.send("q");
    t.fake.sockets[0]!.reply(new Uint8Array(1000).fill(1));
    t.fake.sockets[0]!.reply(new Uint8Array(1000).fill(2));
    assert.deepEqual(t.fake.toClients.map((d) => d.data[0]), [1]);
    t.clock.advance(1900);
    assert.equal(t.fake.toClients.length, 1, "paused for 1000 bytes / 500 B/s");
    t.clock.advance(200);
    assert.deepEqual(t.fake.toClients.map((d) => [d.data[0], d.data.length]), [[1, 1000], [2, 1000]]);
  });
});

describe("UDP session: limits, access and balancing", () => {
  test("sessions are bounded by worker_connections, with nginx's alert; the datagram of a client over the limit is dropped", async () => {
    // 1 listener + (client + upstream) per session: 5 allows two sessions.
    const t = setup({ workerConnections: 5 });
    await t.send("a", 50001);
    await t.send("b", 50002);
    await t.send("c", 50003);
    assert.equal(t.fake.sockets.length, 2);
    assert.equal(t.router.drops.dropped, 1);
    assert.ok(t.lines.includes("[alert] 5 worker_connections are not enough"));
    await t.send("a again", 50001);
    assert.deepEqual(t.fake.sockets[0]!.sent.map(text), ["a", "a again"], "a known client still gets through");
  });

  test("deny: 403, and no upstream socket is opened", async () => {
    const t = setup({ access: [{ action: "deny", address: "127.0.0.2", loc }] });
    await t.send("x", 50000, "127.0.0.2");
    assert.equal(t.ended[0]!.status, 403);
    assert.equal(t.fake.sockets.length, 0);
    assert.ok(t.lines.some((l) => l.startsWith("[error] *1 access forbidden by rule, udp client: 127.0.0.2")));
    assert.equal(t.budget.used, 1);
  });

  test("hash $remote_addr consistent: a client's sessions from any port go to one server, and clients spread", async () => {
    const servers = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"];
    const t = setup({
      servers,
      method: { kind: "hash", key: "$remote_addr", consistent: true },
      proxy: { proxyResponses: 0 },
    });
    const picks = new Map<string, Set<string>>();
    for (let i = 1; i <= 60; i++) {
      const address = `127.0.${i}.1`;
      for (const port of [40000, 40001, 40002]) {
        await t.send("q", port, address);
        const target = t.fake.sockets.at(-1)!.target;
        picks.set(address, (picks.get(address) ?? new Set()).add(target));
      }
    }
    assert.ok([...picks.values()].every((s) => s.size === 1));
    const used = new Set([...picks.values()].map((s) => [...s][0]));
    assert.equal(used.size, 3);
  });

  test("no live upstreams: 502 with nginx's error, the upstream's name in $upstream_addr", async () => {
    const t = setup({ servers: ["127.0.0.1:7001", "127.0.0.1:7002"], proxy: { proxyResponses: 1 } });
    // Both servers fail once (max_fails=1): nothing is left to pick.
    await t.send("x", 50001);
    t.fake.sockets[0]!.refuse();
    await t.send("x", 50002);
    t.fake.sockets[1]!.refuse();
    t.ended.length = 0;
    t.lines.length = 0;
    await t.send("x", 50003);
    assert.equal(t.ended[0]!.status, 502);
    assert.deepEqual(t.ended[0]!.upstreamAddrs, ["u"]);
    assert.ok(t.lines.some((l) => l.includes("no live upstreams while connecting to upstream")));
  });

  test("abort (stop, session drop) ends a session at once and closes its socket", async () => {
    const t = setup();
    await t.send("x");
    const session = t.sessions[0]!;
    session.abort();
    assert.equal(t.ended.length, 1);
    assert.equal(t.fake.sockets[0]!.closed, true);
    assert.equal(t.clock.pending, 0);
    assert.equal(t.budget.used, 1);
  });
});
