// Session logic against a scripted runtime: which peers are tried, and what ends a session.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/index.ts";
import { type AccessRuleConfig, type ProxySettings } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { DEFAULT_SERVER } from "../../src/core/config/schema/upstream-server.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";
import { accessPhase, AccessRules } from "../../src/core/phases/access.ts";
import {
  type ClientConnection,
  ConnectFailure,
  type RelayResult,
  type RelaySink,
  type Runtime,
  type UpstreamConnection,
} from "../../src/core/runtime.ts";
import { type Route, Session } from "../../src/core/session.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { outcomeTries } from "../../src/core/variables/record-context.ts";

const loc = { file: "t", line: 1, col: 1 };
type Script = Record<string, "ok" | "refused" | "timeout">;

interface Extra {
  readonly access?: readonly AccessRuleConfig[];
  /** worker_connections, with one listener open. */
  readonly workerConnections?: number;
  readonly client?: string;
  /** Servers `down` in the config. */
  readonly down?: readonly string[];
  /** What the scripted relay reports beyond its byte counts (called when the relay runs). */
  readonly relay?: () => Partial<RelayResult>;
}

function setup(script: Script, proxy: Partial<ProxySettings> = {}, connectDelayMs = 0, extra: Extra = {}) {
  const attempts: string[] = [];
  const lines: string[] = [];
  const conn = (addr: string) =>
    ({ remoteAddress: addr, remotePort: 1, localAddress: "127.0.0.1", localPort: 2, close() {} }) as never;
  const relayResult: RelayResult = {
    end: "client_closed",
    bytesFromClient: 1,
    bytesToClient: 2,
    bytesFromUpstream: 2,
    bytesToUpstream: 1,
  };
  const runtime = {
    async connect(target: { host: string; port: number }) {
      const addr = `${target.host}:${target.port}`;
      attempts.push(addr);
      if (connectDelayMs) await new Promise((r) => setTimeout(r, connectDelayMs));
      const outcome = script[addr];
      if (outcome === "refused") throw new ConnectFailure("refused", "ECONNREFUSED", "Connection refused");
      if (outcome === "timeout") throw new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out");
      return conn(addr) as UpstreamConnection;
    },
    relay(_c: unknown, _u: unknown, _o: unknown, sink: RelaySink) {
      sink.relayEnded({ ...relayResult, ...extra.relay?.() } as RelayResult);
    },
  } as unknown as Runtime;
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const servers = Object.keys(script).map((address) => {
    const [host, port] = address.split(":");
    return { ...DEFAULT_SERVER, address, host: host!, port: Number(port), down: extra.down?.includes(address) ?? false, loc };
  });
  const upstream = new Upstream({
    name: "up",
    method: { kind: "round_robin" },
    servers,
    implicit: false,
    healthCheck: null,
    loc,
  });
  const access = AccessRules.compile(extra.access ?? []);
  const route: Route = {
    server: {
      listen: [],
      proxyPass: "up",
      return: null,
      set: [],
      proxy: { ...DEFAULT_PROXY_SETTINGS, ...proxy },
      accessLog: [],
      access: [],
      loc,
    },
    target: { upstream, picker: createPicker({ kind: "round_robin" }) },
    listenName: "0.0.0.0:8000",
    ...(access && { phases: [accessPhase(access)] }),
  };
  const budget = new ConnectionBudget(logger, false);
  budget.configure(extra.workerConnections ?? 512, 1);
  let id = 1;
  const run = () =>
    new Session(id++, conn(extra.client ?? "127.0.0.9") as ClientConnection, route, runtime, logger, budget).run();
  return { attempts, lines, run, upstream, budget };
}

describe("session", () => {
  test("each list of tries keeps one entry per try, in order, and the connected peer is released after the relay", async () => {
    // The first try's entries live in fields and a second try's in arrays (session-base.ts).
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" });
    const out = await s.run();
    assert.deepEqual(out.upstreamAddrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert.equal(out.upstreamConnectMs.length, 2);
    assert.equal(out.upstreamConnectMs[0], -1, "the refused try never connected");
    assert.ok(out.upstreamConnectMs[1]! >= 0, "the second try connected");
    assert.equal(out.upstreamSessionMs.length, 2);
    assert.deepEqual(s.upstream.primary.peers.map((p) => p.conns), [0, 0]);
  });

  test("a refused connect moves on to the next server (proxy_next_upstream on)", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" });
    const out = await s.run();
    assert.equal(out.status, 200);
    assert.deepEqual(out.upstreamAddrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert.ok(
      s.lines.some((l) =>
        l.startsWith(
          `[error] *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "127.0.0.1:1"`,
        )
      ),
      s.lines.join("\n"),
    );
    assert.ok(s.lines.some((l) => l.includes("[warn] *1 upstream server temporarily disabled while connecting to upstream")));
  });

  test("a connect timeout counts as a failure and is logged in nginx's words", async () => {
    const s = setup({ "127.0.0.1:1": "timeout", "127.0.0.1:2": "ok" });
    const out = await s.run();
    assert.equal(out.status, 200);
    assert.ok(s.lines.some((l) => l.includes("upstream timed out (110: Connection timed out) while connecting to upstream")));
    assert.equal(s.upstream.primary.peers[0]!.fails, 1);
  });

  test("proxy_next_upstream off: the first failure ends the session with 502", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" }, { proxyNextUpstream: false });
    const out = await s.run();
    assert.equal(out.status, 502);
    assert.deepEqual(s.attempts, ["127.0.0.1:1"]);
  });

  test("proxy_next_upstream_tries limits the attempts", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "refused", "127.0.0.1:3": "ok" }, { proxyNextUpstreamTries: 2 });
    const out = await s.run();
    assert.equal(out.status, 502);
    assert.equal(s.attempts.length, 2);
  });

  test("proxy_next_upstream_timeout stops retrying once it has passed", async () => {
    const s = setup(
      { "127.0.0.1:1": "refused", "127.0.0.1:2": "refused", "127.0.0.1:3": "ok" },
      { proxyNextUpstreamTimeoutMs: 30 },
      40,
    );
    const out = await s.run();
    assert.equal(out.status, 502);
    assert.equal(s.attempts.length, 1);
  });

  test("every server failing gives 502 and `no live upstreams` for the next session", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "refused" });
    const first = await s.run();
    assert.equal(first.status, 502);
    assert.deepEqual(first.upstreamAddrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    const second = await s.run();
    assert.equal(second.status, 502);
    assert.ok(
      s.lines.some((l) =>
        l.includes(`*2 no live upstreams while connecting to upstream, client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "up"`)
      ),
    );
  });

  test("deny: the client is closed with 403 before any upstream is tried, with nginx's error line", async () => {
    const rules: AccessRuleConfig[] = [
      { action: "allow", address: "127.0.0.2", loc },
      { action: "deny", address: "all", loc },
    ];
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, { access: rules, client: "127.0.0.9" });
    const out = await s.run();
    assert.equal(out.status, 403);
    assert.deepEqual(s.attempts, []);
    assert.deepEqual(out.upstreamAddrs, []);
    assert.ok(
      s.lines.includes(`[error] *1 access forbidden by rule, client: 127.0.0.9, server: 0.0.0.0:8000`),
      s.lines.join("\n"),
    );
  });

  test("allow: a client an allow rule matches first is proxied", async () => {
    const rules: AccessRuleConfig[] = [
      { action: "allow", address: "127.0.0.2", loc },
      { action: "deny", address: "all", loc },
    ];
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, { access: rules, client: "127.0.0.2" });
    const out = await s.run();
    assert.equal(out.status, 200);
    assert.deepEqual(s.attempts, ["127.0.0.1:1"]);
  });

  test("worker_connections: no socket left for the upstream ends the session with 500 and nginx's alert", async () => {
    // 2 = the listener and this client: nothing left for the upstream.
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, { workerConnections: 2 });
    assert.equal(s.budget.used, 1);
    assert.ok(s.budget.take(), "the client's socket");
    const out = await s.run();
    assert.equal(out.status, 500);
    assert.deepEqual(s.attempts, []);
    assert.equal(s.budget.used, 2, "the failed try gave nothing back it had not taken");
    assert.ok(
      s.lines.includes(
        `[alert] *1 2 worker_connections are not enough while connecting to upstream, client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "127.0.0.1:1"`,
      ),
      s.lines.join("\n"),
    );
    assert.equal(s.upstream.primary.peers[0]!.conns, 0, "the picked peer was released");
  });

  test("worker_connections: each try's upstream socket is given back, after a refused connect and after the relay", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" }, {}, 0, { workerConnections: 3 });
    const out = await s.run();
    assert.equal(out.status, 200);
    assert.deepEqual(s.attempts, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert.equal(s.budget.used, 1, "only the listener is still held");
  });

  test("a server down in the config is not a try: one refused connect ends the session there (nginx-tests' next down log)", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" }, {}, 0, { down: ["127.0.0.1:2"] });
    const out = await s.run();
    assert.equal(out.status, 502);
    assert.deepEqual(out.upstreamAddrs, ["127.0.0.1:1"], "not followed by the upstream's name");
  });

  test("$upstream_first_byte_time: the last try's time from its connect to the upstream's first read; a failed try has none", async () => {
    // The relay says its first read came 1234 ms after it began, so at least that long after the connect.
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" }, {}, 0, {
      relay: () => ({ upstreamFirstReadAt: Date.now() + 1234 }),
    });
    const out = await s.run();
    assert.equal(out.status, 200);
    const tries = outcomeTries(out);
    assert.equal(tries[0]!.firstByteMs, -1);
    assert.ok(tries[1]!.firstByteMs >= 1234, String(tries[1]!.firstByteMs));
  });

  test("$upstream_first_byte_time: no read from the upstream leaves it unset", async () => {
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, { relay: () => ({ upstreamFirstReadAt: -1 }) });
    assert.equal(outcomeTries(await s.run())[0]!.firstByteMs, -1);
  });

  test("a reset read from the upstream is logged as nginx does, with the byte counts, then the disconnect", async () => {
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, {
      relay: () => ({ end: "upstream_error", error: { op: "recv", code: "ECONNRESET" } }),
    });
    await s.run();
    const tail =
      `client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "127.0.0.1:1", bytes from/to client:1/2, bytes from/to upstream:2/1`;
    assert.ok(
      s.lines.includes(
        `[error] *1 recv() failed (104: Connection reset by peer) while proxying and reading from upstream, ${tail}`,
      ),
      s.lines.join("\n"),
    );
    assert.ok(
      s.lines.includes(`[info] *1 upstream disconnected, bytes from/to client:1/2, bytes from/to upstream:2/1`),
      s.lines.join("\n"),
    );
  });

  test("a broken pipe writing to the client is info (the client's doing), and nginx logs no disconnect after a failed send", async () => {
    const s = setup({ "127.0.0.1:1": "ok" }, {}, 0, {
      relay: () => ({ end: "client_error", error: { op: "send", code: "EPIPE" } }),
    });
    await s.run();
    assert.ok(
      s.lines.some((l) =>
        l.startsWith(`[info] *1 writev() failed (32: Broken pipe) while proxying and sending to client, client: 127.0.0.9`)
      ),
      s.lines.join("\n"),
    );
    assert.ok(!s.lines.some((l) => l.includes("disconnected")), s.lines.join("\n"));
  });
});
