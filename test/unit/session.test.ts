// Session logic against a scripted runtime: which peers are tried, and what ends a session.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/picker.ts";
import { DEFAULT_PROXY_SETTINGS, DEFAULT_SERVER, type ProxySettings } from "../../src/core/config/model.ts";
import type { Logger } from "../../src/core/log.ts";
import {
  ConnectFailure,
  type ClientConnection,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
} from "../../src/core/runtime.ts";
import { Session } from "../../src/core/session.ts";
import { Upstream } from "../../src/core/upstream.ts";

const loc = { file: "t", line: 1, col: 1 };
type Script = Record<string, "ok" | "refused" | "timeout">;

function setup(script: Script, proxy: Partial<ProxySettings> = {}, connectDelayMs = 0) {
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
    async relay() {
      return relayResult;
    },
  } as unknown as Runtime;
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const servers = Object.keys(script).map((address) => {
    const [host, port] = address.split(":");
    return { ...DEFAULT_SERVER, address, host: host!, port: Number(port), loc };
  });
  const upstream = new Upstream({ name: "up", method: { kind: "round_robin" }, servers, implicit: false, healthCheck: null, loc });
  const route = {
    server: { listen: [], proxyPass: "up", proxy: { ...DEFAULT_PROXY_SETTINGS, ...proxy }, accessLog: [], loc },
    upstream,
    picker: createPicker({ kind: "round_robin" }),
    listenName: "0.0.0.0:8000",
  };
  let id = 1;
  const run = () =>
    new Session(id++, conn("127.0.0.9") as ClientConnection, route, runtime, logger).run();
  return { attempts, lines, run, upstream };
}

describe("session", () => {
  test("a refused connect moves on to the next server (proxy_next_upstream on)", async () => {
    const s = setup({ "127.0.0.1:1": "refused", "127.0.0.1:2": "ok" });
    const out = await s.run();
    assert.equal(out.status, 200);
    assert.deepEqual(out.upstreamAddrs, ["127.0.0.1:1", "127.0.0.1:2"]);
    assert.ok(
      s.lines.some((l) =>
        l.startsWith(
          `[error] *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "127.0.0.1:1"`,
        ),
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
    assert.ok(s.lines.some((l) => l.includes(`*2 no live upstreams while connecting to upstream, client: 127.0.0.9, server: 0.0.0.0:8000, upstream: "up"`)));
  });
});
